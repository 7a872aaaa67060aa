package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/registry"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

func TestOnlineVerificationAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a, rec := registryServer(t, db, Options{RateLimit: 1000, RateBurst: 1000, ClientRateLimit: 0.001, ClientRateBurst: 6})
		ctx := authority.WithActor(context.Background(), "test")
		_, key, err := a.AddClient(ctx, permit.RoleVerifier, "Gate 7", "railway")
		if err != nil {
			t.Fatal(err)
		}
		_, other, err := a.AddClient(ctx, permit.RoleVerifier, "Gate 8", "railway")
		if err != nil {
			t.Fatal(err)
		}
		h := issueToRecord(t, a, rec)
		c, qr := h.cred, h.qrAt(t, time.Now())
		url := srv.URL + "/api/v1/verify"

		tests := []struct {
			name     string
			key      string
			body     any
			status   int
			code     string // problem code, or the verification's failure code
			decision string
		}{
			{"no key", "", map[string]string{"qr": qr, "use": "train"}, 401, "unauthorized", ""},
			{"wrong key", key + "x", map[string]string{"qr": qr, "use": "train"}, 401, "unauthorized", ""},
			{"unknown use", key, map[string]string{"qr": qr, "use": "ferry"}, 400, "invalid", ""},
			{"unknown field", key, map[string]string{"qr": qr, "use": "train", "x": "1"}, 400, "invalid", ""},
			{"accepted", key, map[string]string{"qr": qr, "use": "train"}, 200, "", "accept"},
			{"replayed at the same verifier", key, map[string]string{"qr": qr, "use": "train"}, 200, "replayed", "reject"},
			{"first seen at another verifier", other, map[string]string{"qr": qr, "use": "flight"}, 200, "", "accept"},
			// Today's rules keep e-permits away from border control.
			{"border", other, map[string]string{"qr": "EP1:", "use": "border"}, 422, "scope_not_allowed", ""},
		}
		for _, tc := range tests {
			status, body := call(t, "POST", url, tc.key, tc.body, nil)
			if status != tc.status {
				t.Fatalf("%s: status %d %v; want %d", tc.name, status, body, tc.status)
			}
			if tc.decision == "" {
				if body["code"] != tc.code {
					t.Errorf("%s: problem %v; want code %s", tc.name, body, tc.code)
				}
				continue
			}
			if body["decision"] != tc.decision || (tc.code != "" && body["code"] != tc.code) {
				t.Errorf("%s: %v; want %s %s", tc.name, body, tc.decision, tc.code)
			}
			if tc.decision == "accept" {
				h, _ := body["holder"].(map[string]any)
				if h["document_number"] != rec.TravelPermits[0].Number {
					t.Errorf("%s: holder %v", tc.name, h)
				}
			}
		}

		// The portrait, for verifiers only.
		purl := srv.URL + "/api/v1/credentials/" + hex.EncodeToString(c.ID) + "/portrait"
		req, _ := http.NewRequest("GET", purl, nil)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
			t.Fatalf("portrait without a key: %v %v", resp.StatusCode, err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(img, rec.Person.Portrait) || resp.Header.Get("Content-Type") != "image/png" ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("portrait: %d %s %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), len(img))
		}
		if status, body := call(t, "GET", srv.URL+"/api/v1/credentials/zz/portrait", key, nil, nil); status != 400 {
			t.Errorf("bad cti: %d %v", status, body)
		}

		// Gate 7 used its burst of 6 above (5 calls, the portrait, the bad
		// cti); the next is refused for it alone.
		if status, body := call(t, "POST", url, key, map[string]string{"qr": qr, "use": "train"}, nil); status != 429 || body["code"] != "rate_limited" {
			t.Errorf("over the client's limit: %d %v", status, body)
		}
		if status, _ := call(t, "POST", url, other, map[string]string{"qr": qr, "use": "train"}, nil); status != 200 {
			t.Errorf("another verifier was limited too: %d", status)
		}
	})
}

// registryServer is a test server with an issuer key and a registry of one
// person, rec.
func registryServer(t *testing.T, db *store.DB, opts Options) (*httptest.Server, *authority.Authority, permit.Record) {
	t.Helper()
	srv, a := newTestServer(t, db, opts)
	return srv, a, seedRegistry(t, a, 1)[0]
}

// seedRegistry gives a an issuer key and a registry of the first n people of
// the demo population, and returns them.
func seedRegistry(t *testing.T, a *authority.Authority, n int) []permit.Record {
	t.Helper()
	ctx := authority.WithActor(context.Background(), "test")
	if _, err := a.InitKeys(ctx); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := registry.NewEncoder(&buf)
	recs := demo.Registry(n)
	for i := range recs {
		enc.Encode(&recs[i])
	}
	enc.Flush()
	if _, err := a.ImportRegistry(ctx, &buf, "test"); err != nil {
		t.Fatal(err)
	}
	return recs
}
