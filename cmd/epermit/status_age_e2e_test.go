package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/verify"
)

// The age a gate shows for the status list behind its answer is the
// authority's: now − the iat of the list it serves, not the time since the
// gate fetched it. Each verify run is a fresh gate checking a presentation
// as of --at against a running authority.
func TestGateStatusAgeIsSinceIssuedAt(t *testing.T) {
	ctx := context.Background()
	e := serveEPermit(t)
	srv, url := e.srv, e.url

	// The list as the authority serves it now, and its iat.
	trust, err := verify.FetchTrustList(ctx, srv.Client(), url)
	if err != nil {
		t.Fatal(err)
	}
	issuedAt := func(uri string) time.Time {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		req.Header.Set("Accept", credential.StatusListCWTType)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		tok, err := credential.ParseStatusListCWT(b, func(kid string) (*ecdsa.PublicKey, bool) { return trust.Key(kid) })
		if err != nil {
			t.Fatalf("GET %s: %d: %v", uri, resp.StatusCode, err)
		}
		return tok.IssuedAt
	}

	type result struct {
		Decision   string   `json:"decision"`
		Warnings   []string `json:"warnings"`
		Credential struct {
			StatusAge *float64 `json:"status_age_seconds"`
		} `json:"credential"`
	}
	gate := func(at time.Time) result {
		t.Helper()
		text, err := run(t, ctx, "present", "--credential", e.cred, "--holder-key", e.priv, "--at", at.Format(time.RFC3339))
		if err != nil {
			t.Fatal(err)
		}
		out, err := run(t, ctx, "verify", "--authority", url, "--use", "train", "--at", at.Format(time.RFC3339), strings.TrimSpace(text))
		if err != nil {
			t.Fatalf("verify: %v\n%s", err, out)
		}
		var r result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		return r
	}

	pr, err := run(t, ctx, "present", "--credential", e.cred, "--holder-key", e.priv)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := credential.ParseQR(strings.TrimSpace(pr))
	if err != nil {
		t.Fatal(err)
	}
	uri := parsed.Credential.Claims.Status.URI
	iat := issuedAt(uri)

	// 100 s after the authority signed the list: the gate, fetching it
	// just now, shows 100 s, not 0.
	r := gate(iat.Add(100 * time.Second))
	if r.Decision != "accept" || len(r.Warnings) != 0 || r.Credential.StatusAge == nil || *r.Credential.StatusAge != 100 {
		t.Fatalf("100 s after iat: %+v, status age %v; want accept, 100", r, deref(r.Credential.StatusAge))
	}
	// Past the list's ttl (5 min) by the authority's iat, what is served
	// now is too old to use at that time: status unknown, never fresh.
	r = gate(iat.Add(6 * time.Minute))
	if r.Decision != "accept_with_warning" || len(r.Warnings) != 1 || r.Warnings[0] != "status_unknown" || r.Credential.StatusAge != nil {
		t.Fatalf("6 min after iat: %+v; want accept_with_warning status_unknown, no age", r)
	}
	// The authority served that same list throughout (it signs again only
	// every half ttl of its own clock, which has barely moved).
	if again := issuedAt(uri); !again.Equal(iat) {
		t.Fatalf("the list was signed again during the test (iat %v, then %v)", iat, again)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
