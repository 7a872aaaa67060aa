package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/web"
)

// An officer's revoke, suspend and reinstate, made with the CLI against the
// store a running server uses, reach a gate through the status list the
// gate fetches: a presentation made before the change verifies as revoked
// or suspended after it.
func TestRevocationReachesTheGate(t *testing.T) {
	ctx := context.Background()
	e := serveEPermit(t)
	now := time.Now().UTC().Truncate(time.Second)
	text, err := run(t, ctx, "present", "--credential", e.cred, "--holder-key", e.priv, "--at", now.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	text = strings.TrimSpace(text)
	pr, err := credential.ParseQR(text)
	if err != nil {
		t.Fatal(err)
	}
	cti := hex.EncodeToString(pr.Credential.Claims.ID[:])

	// Each verify run is a fresh gate: it fetches the trust list and the
	// status list anew, as a gate does once its copy is older than the ttl.
	gate := func(wantExit int, wantDecision, wantCode string) {
		t.Helper()
		out, err := run(t, ctx, "verify", "--authority", e.url, "--use", "train", "--at", now.Add(5*time.Second).Format(time.RFC3339), text)
		var r struct {
			Decision string   `json:"decision"`
			Code     string   `json:"code"`
			Warnings []string `json:"warnings"`
		}
		if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
			t.Fatalf("output %q: %v", out, jerr)
		}
		if exitCodeOf(err) != wantExit || r.Decision != wantDecision || r.Code != wantCode || len(r.Warnings) != 0 {
			t.Fatalf("verify: exit %d, %+v; want exit %d, %s %s and no warnings", exitCodeOf(err), r, wantExit, wantDecision, wantCode)
		}
	}
	officer := func(args ...string) {
		t.Helper()
		if _, err := run(t, ctx, append(args, "--data", e.data, "--cti", cti, "--reason", "test")...); err != nil {
			t.Fatal(err)
		}
		// The command is another process to the server, which sees its
		// change once its cached list version is that old.
		time.Sleep(store.StatusVersionFresh)
	}

	gate(0, "accept", "")
	officer("suspend")
	gate(exitFailure, "reject", "suspended")
	officer("reinstate")
	gate(0, "accept", "")
	officer("revoke")
	gate(exitFailure, "reject", "revoked")
}

// servedEPermit is an authority on its own store, served over HTTP, and an
// e-permit it issued: what a gate meets in the end-to-end tests.
type servedEPermit struct {
	data, url  string // the store's directory; the server's base URL
	srv        *httptest.Server
	priv, cred string // the holder's private key file; the e-permit (COSE) file
}

// serveEPermit starts the server on a new store at a URL known before it
// starts, so that the e-permit it then issues points its status list at
// it. Both stop when t ends.
func serveEPermit(t *testing.T) *servedEPermit {
	t.Helper()
	ctx := context.Background()
	e := &servedEPermit{data: newIssuingStore(t)}
	e.srv = httptest.NewUnstartedServer(nil)
	e.url = "http://" + e.srv.Listener.Addr().String()
	g := &globals{data: e.data, publicURL: e.url, logFormat: "text", logLevel: "error"}
	if err := g.setup(&strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	a, closeStore, err := g.authority(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeStore)
	e.srv.Config.Handler = web.New(a, slog.New(slog.DiscardHandler), web.Options{RateLimit: 1000, RateBurst: 1000})
	e.srv.Start()
	t.Cleanup(e.srv.Close)

	var pub string
	e.priv, pub = holderKeyFiles(t, t.TempDir(), "holder")
	e.cred = filepath.Join(t.TempDir(), "cred.cose")
	if _, err := run(t, ctx, "issue", "--data", e.data, "--public-url", e.url, "--document-type", "hk",
		"--document-number", "H12345678", "--reason", "lost", "--holder-key", pub, "--out", e.cred); err != nil {
		t.Fatal(err)
	}
	return e
}
