package public

import (
	"testing"

	"github.com/epermit/epermit/internal/authority"
)

func TestNegotiateStatusForm(t *testing.T) {
	cwt, jwt := authority.StatusCWT, authority.StatusJWT
	for _, tc := range []struct {
		accept []string
		want   authority.StatusForm
		ok     bool
	}{
		{nil, cwt, true},
		{[]string{"application/statuslist+cwt"}, cwt, true},
		{[]string{"application/statuslist+jwt"}, jwt, true},
		{[]string{"Application/StatusList+JWT"}, jwt, true},
		{[]string{"*/*"}, cwt, true},
		{[]string{"application/*"}, cwt, true},
		{[]string{"application/statuslist+jwt;q=0.5, application/statuslist+cwt"}, cwt, true},
		{[]string{"application/statuslist+cwt;q=0.4", "application/statuslist+jwt;q=0.8"}, jwt, true},
		{[]string{"application/*;q=0.9, application/statuslist+cwt;q=0"}, jwt, true},
		{[]string{"*/*;q=0.1, application/statuslist+jwt"}, jwt, true},
		{[]string{"text/html"}, 0, false},
		{[]string{"application/json"}, 0, false},
		{[]string{"application/statuslist+cwt;q=0"}, 0, false},
		{[]string{"*/*;q=nonsense"}, 0, false},
	} {
		got, ok := negotiateStatusForm(tc.accept)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Accept %q = %v, %v; want %v, %v", tc.accept, got, ok, tc.want, tc.ok)
		}
	}
}
