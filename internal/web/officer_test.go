package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

func TestOfficerActionsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a, rec := registryServer(t, db, Options{RateLimit: 1000, RateBurst: 1000})
		ctx := authority.WithActor(context.Background(), "test")
		_, officer, err := a.AddClient(ctx, permit.RoleOfficer, "Officer Lee", "officer")
		if err != nil {
			t.Fatal(err)
		}
		_, gate, err := a.AddClient(ctx, permit.RoleVerifier, "Gate 7", "railway")
		if err != nil {
			t.Fatal(err)
		}
		holder, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tp := rec.TravelPermits[0]
		c, err := a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &holder.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		cti := hex.EncodeToString(c.ID)
		url := func(action string) string { return srv.URL + "/api/v1/credentials/" + cti + "/" + action }
		reason := map[string]string{"reason": "fraud investigation"}

		tests := []struct {
			name, key, action string
			body              any
			status            int
			code, state       string
		}{
			{"no key", "", "suspend", reason, 401, "unauthorized", ""},
			{"a verifier's key", gate, "suspend", reason, 401, "unauthorized", ""},
			{"no reason", officer, "suspend", map[string]string{"reason": " "}, 400, "invalid", ""},
			{"suspend", officer, "suspend", reason, 200, "", "suspended"},
			{"suspend again", officer, "suspend", reason, 409, "conflict", ""},
			{"reinstate", officer, "reinstate", map[string]string{"reason": "cleared"}, 200, "", "active"},
			{"revoke", officer, "revoke", reason, 200, "", "revoked"},
			{"reinstate a revoked one", officer, "reinstate", reason, 409, "conflict", ""},
		}
		for _, tc := range tests {
			status, body := call(t, "POST", url(tc.action), tc.key, tc.body, nil)
			if status != tc.status || (tc.code != "" && body["code"] != tc.code) || (tc.state != "" && body["state"] != tc.state) {
				t.Errorf("%s: %d %v; want %d %s%s", tc.name, status, body, tc.status, tc.code, tc.state)
			}
		}
		if status, _ := call(t, "POST", srv.URL+"/api/v1/credentials/00/revoke", officer, reason, nil); status != 400 {
			t.Errorf("bad cti: %d", status)
		}
		if status, _ := call(t, "POST", srv.URL+"/api/v1/credentials/"+strings.Repeat("0", 32)+"/revoke", officer, reason, nil); status != 404 {
			t.Errorf("unknown cti: %d", status)
		}

		evs, err := a.AuditEvents(ctx, "cti:"+cti)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, e.Actor+" "+e.Action)
		}
		want := "officer:Officer Lee credential.revoke|officer:Officer Lee credential.reinstate|officer:Officer Lee credential.suspend|test credential.issue"
		if strings.Join(got, "|") != want {
			t.Errorf("audit trail %q; want %q", strings.Join(got, "|"), want)
		}
	})
}
