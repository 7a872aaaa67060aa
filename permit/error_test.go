package permit

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := Errorf(ECodeNotFound, "no permit %s", "H12345678")
	for _, tc := range []struct {
		name    string
		err     error
		code    Code
		message string
	}{
		{"domain error", notFound, ECodeNotFound, "no permit H12345678"},
		{"wrapped", fmt.Errorf("lookup: %w", notFound), ECodeNotFound, "no permit H12345678"},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", Errorf(ECodeConflict, "busy"))), ECodeConflict, "busy"},
		{"joined", errors.Join(errors.New("x"), Errorf(ECodeQuotaExceeded, "quota")), ECodeQuotaExceeded, "quota"},
		// Anything else is internal and its text stays inside the process.
		{"plain error", errors.New("pq: password authentication failed"), ECodeInternal, "internal error"},
		{"wrapped plain error", fmt.Errorf("store: %w", errors.New("disk full")), ECodeInternal, "internal error"},
		{"validation", (&Person{}).Validate(), ECodeInvalid, "invalid person"},
		{"travel permit number", func() error { _, _, err := ParseTravelPermitNumber(TWTravelPermit, "x"); return err }(),
			ECodeInvalid, `"x" is not a Taiwan residents' permit number (8 digits)`},
	} {
		if got := ErrorCode(tc.err); got != tc.code {
			t.Errorf("%s: ErrorCode = %q, want %q", tc.name, got, tc.code)
		}
		if got := ErrorMessage(tc.err); got != tc.message {
			t.Errorf("%s: ErrorMessage = %q, want %q", tc.name, got, tc.message)
		}
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Code: ECodeInvalid, Message: "invalid registry record", Problems: []Problem{
		{Field: "person.phone", Code: "phone_invalid", Reason: "bad"},
		{Field: "travel_permits", Code: "travel_permit_missing", Reason: "none"},
	}}
	if got, want := e.Error(), "invalid registry record: person.phone: bad; travel_permits: none"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := Errorf(ECodeConflict, "already %s", "revoked").Error(); got != "already revoked" {
		t.Errorf("Error() without problems = %q", got)
	}
	var ps problems
	if ps.err("x") != nil {
		t.Error("no problems gave an error")
	}
}
