package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// issued decodes the credential `epermit issue` printed.
func issued(t *testing.T, out string) *credential.EPermit {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := credential.ParseEPermit(raw)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func TestInit(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	example := filepath.Join("..", "..", "internal", "registry", "testdata", "example.jsonl")
	holder := func() string { _, pub := holderKeyFiles(t, t.TempDir(), "holder"); return pub }()
	issue := func(extra ...string) (string, error) {
		return run(t, ctx, append([]string{"issue", "--data", data, "--document-type", "hk", "--document-number", "H12345678",
			"--reason", "lost", "--holder-key", holder}, extra...)...)
	}

	// Without a terminal, what is missing is a usage error.
	if _, err := run(t, ctx, "init", "--data", data, "--admin", "Chief"); exitCodeOf(err) != exitUsage || !strings.Contains(err.Error(), "no terminal") {
		t.Fatalf("init without --public-url = %v, want a usage error", err)
	}
	for _, bad := range [][]string{
		{"--public-url", "ftp://x"},
		{"--public-url", "https://ep.example", "--status-url", "https://s.example?x=1"},
		{"--public-url", "https://ep.example", "--kms", "pkcs11:token=a?module-path=/m.so&pin-value=1234"},
		{"--public-url", "https://ep.example", "--kms", "vault:x"},
		{"--public-url", "https://ep.example", "--algorithm", "rs256"},
		// PKCS#11 keys are ES256 only.
		{"--public-url", "https://ep.example", "--algorithm", "sm2", "--kms", "pkcs11:token=a?module-path=/m.so&pin-source=/p"},
	} {
		if _, err := run(t, ctx, append([]string{"init", "--data", data, "--admin", "Chief"}, bad...)...); exitCodeOf(err) != exitUsage {
			t.Fatalf("init %v = %v, want a usage error", bad, err)
		}
	}
	// A build without PKCS#11 says so before it creates anything.
	if !pkcs11Built {
		_, err := run(t, ctx, "init", "--data", data, "--admin", "Chief", "--public-url", "https://ep.example",
			"--kms", "pkcs11:token=a?module-path=/m.so&pin-source=/p")
		if err == nil || !strings.Contains(err.Error(), "-tags pkcs11") {
			t.Fatalf("init --kms pkcs11: without PKCS#11 = %v", err)
		}
		if _, err := os.Stat(filepath.Join(data, "epermit.db")); !os.IsNotExist(err) {
			t.Fatalf("init without PKCS#11 created the store: %v", err)
		}
	}
	if _, err := run(t, ctx, "serve", "--data", data, "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "`epermit init`") {
		t.Fatalf("serve with no store = %v, want a pointer to init", err)
	}
	if _, err := os.Stat(filepath.Join(data, "epermit.db")); !os.IsNotExist(err) {
		t.Fatalf("serve with no store created one: %v", err)
	}
	if _, err := run(t, ctx, "migrate", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, "serve", "--data", data, "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "run `epermit init`") {
		t.Fatalf("serve on a store never set up = %v, want a pointer to init", err)
	}
	if _, err := run(t, ctx, "settings", "set", "--data", data, "--public-url", "https://ep.example"); err == nil || !strings.Contains(err.Error(), "run `epermit init`") {
		t.Fatalf("settings set on a store never set up = %v", err)
	}
	out, err := run(t, ctx, "init", "--data", data, "--public-url", "https://ep.example/", "--status-url", "https://s.ep", "--admin", "Chief")
	if err != nil || !strings.Contains(out, "epo_") || !strings.Contains(out, "Next steps:") || !strings.Contains(out, "file:keys/") {
		t.Fatalf("init = %q, %v", out, err)
	}
	if out, err := run(t, ctx, "init", "--data", t.TempDir(), "--public-url", "https://ep.example", "--admin", "Chief", "--algorithm", "sm2"); err != nil ||
		!strings.Contains(out, " SM2 (file:keys/") {
		t.Fatalf("init --algorithm sm2 = %q, %v", out, err)
	}
	if _, err := run(t, ctx, "init", "--data", data, "--public-url", "https://ep.example", "--admin", "Other"); permit.ErrorCode(err) != permit.ECodeConflict {
		t.Fatalf("second init = %v, want conflict", err)
	}
	if out, err := run(t, ctx, "officer", "list", "--data", data); err != nil || !strings.Contains(out, "Chief") || !strings.Contains(out, "admin") {
		t.Fatalf("officers after init: %q, %v", out, err)
	}
	if _, err := run(t, ctx, "registry", "import", example, "--data", data); err != nil {
		t.Fatal(err)
	}

	// Later commands write the recorded URIs, without any URL flag.
	out, err = issue()
	if err != nil {
		t.Fatal(err)
	}
	if ep := issued(t, out); !strings.HasPrefix(ep.Claims.Status.URI, "https://s.ep/s/") || ep.Claims.Issuer != "CN-NIA" {
		t.Fatalf("issued with status %q, issuer %q; want the recorded ones", ep.Claims.Status.URI, ep.Claims.Issuer)
	}
	// A flag (or its variable) saying otherwise is refused before anything is written.
	if _, err := issue("--status-url", "https://other.example"); exitCodeOf(err) != exitUsage || !strings.Contains(err.Error(), "settings set") {
		t.Fatalf("issue with another --status-url = %v, want a usage error", err)
	}
	t.Setenv("EPERMIT_ISSUER_ID", "CN-OTHER")
	if _, err := issue(); exitCodeOf(err) != exitUsage {
		t.Fatalf("issue with another EPERMIT_ISSUER_ID = %v, want a usage error", err)
	}
	t.Setenv("EPERMIT_ISSUER_ID", "CN-NIA")
	// The same value is no conflict.
	if _, err := run(t, ctx, "keys", "list", "--data", data, "--public-url", "https://ep.example"); err != nil {
		t.Fatal(err)
	}
	// Moving the service is explicit, and audited.
	if out, err := run(t, ctx, "settings", "set", "--data", data, "--status-url", "https://s2.ep"); err != nil || !strings.Contains(out, "status_url") {
		t.Fatalf("settings set = %q, %v", out, err)
	}
	if out, err := run(t, ctx, "settings", "--data", data); err != nil || !strings.Contains(out, "https://s2.ep") || !strings.Contains(out, "https://ep.example") {
		t.Fatalf("settings = %q, %v", out, err)
	}
	out, err = issue()
	if err != nil {
		t.Fatal(err)
	}
	if ep := issued(t, out); !strings.HasPrefix(ep.Claims.Status.URI, "https://s2.ep/s/") {
		t.Fatalf("after settings set, issued with status %q", ep.Claims.Status.URI)
	}
	if out, err := run(t, ctx, "audit", "verify", "--data", data); err != nil || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify = %q, %v", out, err)
	}
}

// On a terminal, init asks for what the command line lacks.
func TestInitAsks(t *testing.T) {
	defer func(f func(io.Reader) bool) { isTerminal = f }(isTerminal)
	isTerminal = func(io.Reader) bool { return true }
	data := t.TempDir()
	// Database (default), public URL, status URL (default), key store
	// (default), then an empty admin name, asked again.
	answers := "\nhttps://ep.example\n\n\n\nChief Officer\n"
	var out, errOut bytes.Buffer
	root := newRoot(&globals{})
	root.SetArgs([]string{"init", "--data", data})
	root.SetIn(strings.NewReader(answers))
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("init: %v\n%s", err, errOut.String())
	}
	for _, q := range []string{"Database", "Public URL", "Status URL", "Issuer key store", "Name of the first admin officer"} {
		if !strings.Contains(errOut.String(), q) {
			t.Errorf("init did not ask for %q:\n%s", q, errOut.String())
		}
	}
	if !strings.Contains(out.String(), "status URL   https://ep.example\n") || !strings.Contains(out.String(), "Chief Officer") {
		t.Fatalf("init output:\n%s", out.String())
	}
	// With every required value on the command line, nothing is asked.
	errOut.Reset()
	root = newRoot(&globals{})
	root.SetArgs([]string{"init", "--data", t.TempDir(), "--public-url", "https://ep.example", "--admin", "Chief"})
	root.SetIn(strings.NewReader(""))
	root.SetOut(io.Discard)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(context.Background()); err != nil || strings.Contains(errOut.String(), "?") || strings.Contains(errOut.String(), "Database") {
		t.Fatalf("init with flags on a terminal: %v, asked:\n%s", err, errOut.String())
	}
	// Input that ends before a required answer fails.
	root = newRoot(&globals{})
	root.SetArgs([]string{"init", "--data", t.TempDir()})
	root.SetIn(strings.NewReader("\n"))
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	if err := root.ExecuteContext(context.Background()); !errors.As(err, new(usageError)) {
		t.Fatalf("init with input ending early = %v, want a usage error", err)
	}
}

// The database's password never shows in what init prints or in serve's
// refusals.
func TestDSNPasswordNotPrinted(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(storetest.DSN(t, store.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" {
		// A server that trusts local connections ignores it.
		pw = "hunter2-not-shown"
		u.User = url.UserPassword(u.User.Username(), pw)
	}
	dsn := u.String()
	if _, err := run(t, ctx, "migrate", "--db", dsn); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, ctx, "serve", "--db", dsn, "--data", t.TempDir(), "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "never set up") || strings.Contains(err.Error(), pw) {
		t.Errorf("serve on a store never set up = %v; want the refusal without the password", err)
	}
	out, err := run(t, ctx, "init", "--db", dsn, "--data", t.TempDir(), "--public-url", "https://ep.example", "--admin", "Chief")
	if err != nil || !strings.Contains(out, "Next steps:") {
		t.Fatalf("init = %q, %v", out, err)
	}
	if strings.Contains(out, pw) {
		t.Errorf("init printed the database password:\n%s", out)
	}
}
