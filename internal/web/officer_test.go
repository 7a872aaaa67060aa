package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/epermit/epermit/credential"
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

func TestCounterIssueAPI(t *testing.T) {
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
		jwk, err := credential.NewJWK(&holder.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		tp := rec.TravelPermits[0]
		req := func(kind, number, reason string, key any) map[string]any {
			return map[string]any{"kind": kind, "travel_permit_type": tp.Type.String(), "travel_permit_number": number,
				"reason": reason, "holder_key": key}
		}
		url := srv.URL + "/api/v1/credentials"
		tests := []struct {
			name, key string
			body      any
			status    int
			code      string
		}{
			{"no key", "", req("epermit", tp.Number, "lost", jwk), 401, "unauthorized"},
			{"a verifier's key", gate, req("epermit", tp.Number, "lost", jwk), 401, "unauthorized"},
			{"no holder key", officer, req("epermit", tp.Number, "lost", nil), 400, "invalid"},
			{"bad reason", officer, req("epermit", tp.Number, "bored", jwk), 422, "reason_invalid"},
			{"bad kind", officer, req("passport", tp.Number, "lost", jwk), 400, "invalid"},
			{"unknown permit", officer, req("epermit", "H99999999", "lost", jwk), 404, "not_found"},
			{"e-permit", officer, req("epermit", tp.Number, "lost", jwk), 201, ""},
		}
		var issued []string
		for _, tc := range tests {
			status, body := call(t, "POST", url, tc.key, tc.body, nil)
			if status != tc.status || (tc.code != "" && body["code"] != tc.code) {
				t.Errorf("%s: %d %v; want %d %s", tc.name, status, body, tc.status, tc.code)
				continue
			}
			if status == 201 {
				if body["credential"] == "" || body["status_list"] == nil || body["status_index"] == nil {
					t.Errorf("%s: answer %v lacks the credential or its status entry", tc.name, body)
				}
				issued = append(issued, body["cti"].(string))
			}
		}
		for _, cti := range issued {
			evs, err := a.AuditEvents(ctx, "cti:"+cti)
			if err != nil || len(evs) == 0 || evs[len(evs)-1].Actor != "officer:Officer Lee" {
				t.Errorf("credential %s: audit %v, %v; want issued by officer:Officer Lee", cti, evs, err)
			}
		}
	})
}

// TestClientOwnRate: a client an operator gave its own rate is limited at
// that rate, the others at the server's per-client default.
func TestClientOwnRate(t *testing.T) {
	srv, a := newTestServer(t, storetest.Open(t, store.SQLite),
		Options{RateLimit: 1000, RateBurst: 1000, ClientRateLimit: 0.001, ClientRateBurst: 2})
	ctx := authority.WithActor(context.Background(), "test")
	_, fast, err := a.AddClient(ctx, permit.RoleOfficer, "Load tool", "officer")
	if err != nil {
		t.Fatal(err)
	}
	_, slow, err := a.AddClient(ctx, permit.RoleOfficer, "Officer Lee", "officer")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetClientRate(ctx, permit.RoleOfficer, "Load tool", 100); err != nil {
		t.Fatal(err)
	}
	count := func(key string) (passed int) {
		for range 20 {
			// An unknown credential: 404 once past the limit, 429 if not.
			status, _ := call(t, "POST", srv.URL+"/api/v1/credentials/"+strings.Repeat("0", 32)+"/revoke", key,
				map[string]string{"reason": "test"}, nil)
			if status != 429 {
				passed++
			}
		}
		return passed
	}
	if n := count(fast); n != 20 {
		t.Errorf("client at 100/s passed %d of 20", n)
	}
	if n := count(slow); n != 2 {
		t.Errorf("client at the default passed %d of 20; want the burst of 2", n)
	}
	evs, err := a.AuditEvents(ctx, "officer:Load tool")
	if err != nil || len(evs) == 0 || evs[0].Action != "officer.set_rate" || string(evs[0].Details) != `{"old":"default","rate":"100"}` {
		t.Errorf("audit %v, %v; want officer.set_rate from default to 100 first", evs, err)
	}
	for _, bad := range []float64{-1, 2e6} {
		if err := a.SetClientRate(ctx, permit.RoleOfficer, "Load tool", bad); permit.ErrorCode(err) != permit.ECodeInvalid {
			t.Errorf("rate %v: %v; want invalid", bad, err)
		}
	}
}
