package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/verify"
)

// run executes epermit with args in-process as officer "tester" and
// returns its standard output.
func run(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	return runAnon(t, ctx, append(args, "--officer", "tester")...)
}

// newStore returns a data directory with a new, migrated store.
func newStore(t *testing.T) string {
	t.Helper()
	data := t.TempDir()
	if _, err := run(t, context.Background(), "migrate", "--data", data); err != nil {
		t.Fatal(err)
	}
	return data
}

// runAnon is run without --officer.
func runAnon(t *testing.T, ctx context.Context, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(&globals{})
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(ctx)
	if err != nil {
		t.Logf("epermit %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), err
}

func TestOperatorCommands(t *testing.T) {
	ctx := context.Background()
	data := newStore(t)
	example := filepath.Join("..", "..", "internal", "registry", "testdata", "example.jsonl")

	out, err := run(t, ctx, "keys", "init", "--data", data)
	if err != nil || !strings.HasPrefix(out, "active key ") {
		t.Fatalf("keys init = %q, %v", out, err)
	}
	if _, err := run(t, ctx, "keys", "init", "--data", data); err == nil {
		t.Fatal("second keys init succeeded")
	}

	// A file with a bad line imports nothing.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	good, _ := os.ReadFile(example)
	os.WriteFile(bad, append(append([]byte{}, good...), "{\"person\":{}}\n"...), 0o600)
	if _, err := run(t, ctx, "registry", "import", bad, "--data", data); err == nil {
		t.Fatal("import of a file with a bad line succeeded")
	}
	out, err = run(t, ctx, "registry", "import", example, "--data", data)
	if err != nil || !strings.HasPrefix(out, "6 records: 6 created") {
		t.Fatalf("import = %q, %v", out, err)
	}
	exported := filepath.Join(t.TempDir(), "export.jsonl")
	if _, err := run(t, ctx, "registry", "export", "--data", data, "--out", exported); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(exported); !bytes.Equal(got, good) {
		t.Fatal("export differs from the imported file")
	}
	if info, _ := os.Stat(exported); info.Mode().Perm() != 0o600 {
		t.Errorf("export mode %v, want 0600", info.Mode().Perm())
	}

	// Counter issuance with a PEM holder key.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubFile := filepath.Join(t.TempDir(), "holder.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	out, err = run(t, ctx, "issue", "--data", data, "--document-type", "hk", "--document-number", "H12345678",
		"--reason", "forgotten", "--holder-key", pubFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if ep, err := credential.ParseEPermit(raw); err != nil || ep.Claims.Permit.DocumentNumber != "H12345678" {
		t.Fatalf("issued credential: %v", err)
	}
	if _, err := run(t, ctx, "issue", "--data", data, "--document-type", "uk", "--document-number", "1",
		"--reason", "lost", "--holder-key", pubFile); !errors.As(err, new(usageError)) {
		t.Fatalf("bad document type = %v, want a usage error", err)
	}

	out, err = run(t, ctx, "audit", "verify", "--data", data)
	if err != nil || !strings.HasPrefix(out, "ok: ") || !strings.Contains(out, "anchor: ") ||
		!strings.Contains(out, "facts: 1 credentials issued, 0 revoked, 0 suspended, 0 API clients (0 disabled), each with its event") {
		t.Fatalf("audit verify = %q, %v", out, err)
	}
	anchor := strings.TrimSpace(out[strings.Index(out, "anchor: ")+len("anchor: "):])
	if out, err := run(t, ctx, "audit", "verify", "--data", data, "--anchor", anchor); err != nil || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify with anchor = %q, %v", out, err)
	}
	out, err = run(t, ctx, "keys", "list", "--data", data)
	if err != nil || !strings.Contains(out, "active") {
		t.Fatalf("keys list = %q, %v", out, err)
	}

	// A leaked key: rotate, then revoke the old one with what it signed.
	first := strings.Fields(strings.Split(out, "\n")[1])[0]
	if _, err := run(t, ctx, "keys", "revoke", "--kid="+first, "--data", data, "--reason", "leaked"); err == nil {
		t.Fatal("keys revoke of the active key succeeded")
	}
	if _, err := run(t, ctx, "keys", "rotate", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, "keys", "revoke", "--kid="+first, "--data", data); exitCodeOf(err) != exitUsage {
		t.Fatalf("keys revoke without --reason = %v, want a usage error", err)
	}
	out, err = run(t, ctx, "keys", "revoke", "--kid="+first, "--data", data, "--reason", "leaked")
	if err != nil || !strings.Contains(out, "key "+first+" revoked and out of the trust list; 1 credentials revoked") {
		t.Fatalf("keys revoke = %q, %v", out, err)
	}
	// A kid may start with "-" (base64url): as --kid=… it is still a kid.
	if _, err := run(t, ctx, "keys", "revoke", "--kid=-uBXG53x4Ns", "--data", data, "--reason", "x"); exitCodeOf(err) != exitFailure ||
		!strings.Contains(err.Error(), "no issuer key -uBXG53x4Ns") {
		t.Errorf("keys revoke --kid=-uBXG53x4Ns = %v; want no such key", err)
	}
	if out, _ = run(t, ctx, "keys", "list", "--data", data); !strings.Contains(out, first+"  revoked") {
		t.Errorf("keys list after revoke:\n%s", out)
	}
}

func TestEnvironmentVariables(t *testing.T) {
	t.Setenv("EPERMIT_DATA", t.TempDir())
	t.Setenv("EPERMIT_LOG_FORMAT", "xml")
	if _, err := run(t, context.Background(), "migrate"); !errors.As(err, new(usageError)) {
		t.Fatalf("EPERMIT_LOG_FORMAT=xml = %v, want a usage error", err)
	}
	t.Setenv("EPERMIT_LOG_FORMAT", "json")
	if out, err := run(t, context.Background(), "migrate"); err != nil || !strings.HasPrefix(out, "sqlite schema at version ") {
		t.Fatalf("migrate = %q, %v", out, err)
	}
}

// The demo serves health and the trust list, and stops on cancel.
// The demo on a data directory from before the root of trust (an issuer
// key, no root): it sets up its demo root, certifies the key and serves a
// signed list a gate accepts under DATA/demo-root/root.pem; started
// again, it keeps that list.
func TestDemo(t *testing.T) {
	data := t.TempDir()
	if _, err := run(t, context.Background(), "migrate", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, context.Background(), "keys", "init", "--data", data); err != nil {
		t.Fatal(err)
	}
	start := func() (base, gateKey string, stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			root := newRoot(&globals{})
			root.SetArgs([]string{"demo", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "warn"})
			root.SetOut(pw)
			root.SetErr(io.Discard)
			done <- root.ExecuteContext(ctx)
			pw.Close()
		}()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && f[0] == "health" {
				base = strings.TrimSuffix(f[1], "/healthz")
			}
			if len(f) == 4 && f[0] == "verifier" {
				gateKey = f[3]
			}
			if sc.Text() == "Stop with Ctrl-C." {
				break
			}
		}
		go io.Copy(io.Discard, pr)
		if base == "" {
			cancel()
			t.Fatalf("demo printed no URLs: %v", <-done)
		}
		return base, gateKey, func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("demo stopped with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("demo did not stop")
			}
		}
	}
	signedList := func(base string, held *verify.TrustList) *verify.TrustList {
		t.Helper()
		root, err := verify.LoadRoot(filepath.Join(data, "demo-root", "root.pem"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(base + "/.well-known/epermit-trust-list")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		l, err := verify.ParseSignedTrustList(b, root, held, base, time.Now())
		if err != nil {
			t.Fatalf("the demo's signed list (%d): %v", resp.StatusCode, err)
		}
		return l
	}

	base, gateKey, stop := start()
	for _, path := range []string{"/healthz", "/readyz", "/.well-known/jwks.json"} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		if path == "/.well-known/jwks.json" {
			b, _ := io.ReadAll(resp.Body)
			keys, err := credential.ParseJWKSet(b)
			files, _ := filepath.Glob(filepath.Join(data, "keys", "*.pem"))
			kid := strings.TrimSuffix(filepath.Base(files[0]), ".pem")
			if err != nil || len(keys) != 1 || keys[kid] == nil {
				t.Fatalf("trust list %s lacks the key file's kid %s: %v", b, kid, err)
			}
			list := signedList(base, nil)
			if _, code := list.KeyFor(kid, time.Now(), time.Now(), verify.DefaultSkew); code != "" || list.Seq() != 1 {
				t.Fatalf("the signed list (seq %d) for the key %s: %q", list.Seq(), kid, code)
			}
		}
		resp.Body.Close()
	}
	// The demo gate's key works on the verify API.
	req, _ := http.NewRequest("POST", base+"/api/v1/verify", strings.NewReader(`{"qr": "EP1:", "use": "train"}`))
	req.Header.Set("Authorization", "Bearer "+gateKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("verify with the demo gate key %q: %v %v", gateKey, resp, err)
	}
	// The registry of a running demo can be exported by another command.
	out, err := run(t, context.Background(), "registry", "export", "--data", data)
	if err != nil || strings.Count(out, "\n") != demoPeople {
		t.Fatalf("export from a running demo: %d lines, %v", strings.Count(out, "\n"), err)
	}
	stop()

	// Started again, nothing is due: the same list.
	base, _, stop = start()
	defer stop()
	if l := signedList(base, nil); l.Seq() != 1 {
		t.Errorf("the second start signed list %d, want the first one kept", l.Seq())
	}
}

// An officer suspends, reinstates and revokes from the command line; the
// status list in the store follows, and the audit log still checks.
func TestRevocationCommands(t *testing.T) {
	ctx := context.Background()
	data := newStore(t)
	example := filepath.Join("..", "..", "internal", "registry", "testdata", "example.jsonl")
	for _, args := range [][]string{{"keys", "init"}, {"registry", "import", example}} {
		if _, err := run(t, ctx, append(args, "--data", data)...); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubFile := filepath.Join(t.TempDir(), "holder.pem")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	out, err := run(t, ctx, "issue", "--data", data, "--document-type", "hk", "--document-number", "H12345678",
		"--reason", "lost", "--holder-key", pubFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimSpace(out))
	ep, err := credential.ParseEPermit(raw)
	if err != nil {
		t.Fatal(err)
	}
	cti := hex.EncodeToString(ep.Claims.ID[:])
	entry := func() int {
		t.Helper()
		db, err := store.Open(ctx, filepath.Join(data, "epermit.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		n, _ := strconv.ParseInt(ep.Claims.Status.URI[strings.LastIndex(ep.Claims.Status.URI, "/")+1:], 10, 64)
		sl, err := db.LoadStatusList(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return sl.Entries[int64(ep.Claims.Status.Idx)]
	}

	for _, tc := range []struct {
		args  []string
		out   string // prefix of the output; "" when the command must fail
		usage bool   // the failure is a usage error
		entry int
	}{
		{[]string{"suspend", "--cti", cti, "--reason", "inquiry"}, "suspended " + cti, false, 2},
		{[]string{"suspend", "--cti", cti, "--reason", "inquiry"}, "", false, 2},
		{[]string{"reinstate", "--cti", cti, "--reason", "cleared"}, "reinstated " + cti, false, 0},
		{[]string{"reinstate", "--cti", cti, "--reason", "cleared"}, "", false, 0},
		{[]string{"suspend", "--cti", "abc", "--reason", "x"}, "", true, 0},
		{[]string{"revoke", "--cti", cti, "--document-type", "hk", "--document-number", "H12345678", "--reason", "x"}, "", true, 0},
		{[]string{"revoke", "--document-type", "hk", "--reason", "x"}, "", true, 0},
		{[]string{"revoke", "--document-type", "uk", "--document-number", "H12345678", "--reason", "x"}, "", true, 0},
		{[]string{"revoke", "--cti", cti}, "", false, 0},
		{[]string{"revoke", "--cti", cti, "--reason", " "}, "", false, 0},
		{[]string{"revoke", "--document-type", "hk", "--document-number", "H12345678", "--reason", "card misused"}, "revoked " + cti, false, 1},
		{[]string{"revoke", "--cti", cti, "--reason", "again"}, "", false, 1},
		{[]string{"reinstate", "--cti", cti, "--reason", "mistake"}, "", false, 1},
	} {
		out, err := run(t, ctx, append(tc.args, "--data", data)...)
		switch {
		case tc.out != "" && (err != nil || !strings.HasPrefix(out, tc.out)):
			t.Fatalf("%v = %q, %v; want %q", tc.args, out, err, tc.out)
		case tc.out == "" && err == nil:
			t.Fatalf("%v succeeded: %q", tc.args, out)
		case tc.out == "" && tc.usage != errors.As(err, new(usageError)):
			t.Fatalf("%v = %v; usage error %v", tc.args, err, tc.usage)
		}
		if got := entry(); got != tc.entry {
			t.Fatalf("after %v the status entry is %d, want %d", tc.args, got, tc.entry)
		}
	}
	if out, err := run(t, ctx, "audit", "verify", "--data", data); err != nil || !strings.HasPrefix(out, "ok: ") {
		t.Fatalf("audit verify = %q, %v", out, err)
	}
}

// Unknown subcommands are usage errors; state changes need an officer's
// name, which the audit log records; audit list reads it back.
func TestOfficersAndTheLog(t *testing.T) {
	ctx := context.Background()
	data := newStore(t)
	for _, args := range [][]string{{"audit", "list-all"}, {"keys"}, {"keys", "nope"}, {"registry", "x", "y"}, {"nope"}} {
		if _, err := run(t, ctx, args...); exitCodeOf(err) != exitUsage {
			t.Errorf("epermit %v: exit %d, want %d", args, exitCodeOf(err), exitUsage)
		}
	}
	// Each command's help shows its own flags and the common ones it uses.
	for _, tc := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"keys", "list", "--help"}, "--data", "--face-token"},
		{[]string{"keys", "rotate", "--help"}, "--officer", "--sms-url"},
		{[]string{"issue", "--help"}, "--policy", "--status-ttl"},
		{[]string{"verify", "--help"}, "--trust", "--data"},
		{[]string{"serve", "--help"}, "--sms-url", "--officer"},
	} {
		var out bytes.Buffer
		root := newRoot(&globals{})
		root.SetArgs(tc.args)
		root.SetOut(&out)
		root.SetErr(&out)
		if err := root.Execute(); err != nil || !strings.Contains(out.String(), tc.want) || strings.Contains(out.String(), tc.not) {
			t.Errorf("epermit %v: %v; want %s and not %s in:\n%s", tc.args, err, tc.want, tc.not, out.String())
		}
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := runAnon(t, ctx, args...)
		if err != nil || !strings.HasPrefix(out, "epermit ") || !strings.Contains(out, "go1.") {
			t.Errorf("epermit %v = %q, %v", args, out, err)
		}
	}
	for _, args := range [][]string{{"keys", "init"}, {"keys", "rotate"}, {"verifier", "add", "--name", "G", "--kind", "railway"},
		{"revoke", "--cti", "00", "--reason", "x"}, {"suspend", "--cti", "00", "--reason", "x"}, {"face", "approve", "1"},
		{"registry", "import", "nofile"}} {
		if _, err := runAnon(t, ctx, append(args, "--data", data)...); exitCodeOf(err) != exitUsage ||
			!strings.Contains(err.Error(), "--officer") {
			t.Errorf("anonymous epermit %v: %v, want a usage error naming --officer", args, err)
		}
	}
	if _, err := runAnon(t, ctx, "keys", "init", "--data", data, "--officer", "bad name"); exitCodeOf(err) != exitUsage {
		t.Errorf("--officer with a space: %v", err)
	}
	t.Setenv("EPERMIT_OFFICER", "Wong")
	if _, err := runAnon(t, ctx, "keys", "init", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := runAnon(t, ctx, "keys", "rotate", "--data", data, "--officer", "chan"); err != nil {
		t.Fatal(err)
	}
	out, err := runAnon(t, ctx, "audit", "list", "--data", data, "--json", "--action", "key.")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ Actor, Action string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, e.Actor+" "+e.Action)
	}
	if want := []string{"cli:chan key.rotate", "cli:wong key.init"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("audit list = %v, want %v", got, want)
	}
	if out, err := runAnon(t, ctx, "audit", "list", "--data", data, "--since", "1h", "--subject", "nothing"); err != nil ||
		strings.Count(out, "\n") != 1 {
		t.Errorf("audit list of no events = %q, %v; want the header alone", out, err)
	}
	if _, err := runAnon(t, ctx, "audit", "list", "--data", data, "--since", "yesterday"); exitCodeOf(err) != exitUsage {
		t.Errorf("--since yesterday: %v", err)
	}
}

// Only migrate and demo create a store: any other command refuses a
// missing one instead of creating an empty database behind a typo.
func TestNoStoreByMistake(t *testing.T) {
	ctx := context.Background()
	typo := filepath.Join(t.TempDir(), "epermit-dta")
	for _, args := range [][]string{{"keys", "list"}, {"registry", "export"}, {"audit", "verify"}, {"audit", "list"},
		{"keys", "init"}, {"verifier", "list"}} {
		_, err := run(t, ctx, append(args, "--data", typo)...)
		if exitCodeOf(err) != exitFailure || !strings.Contains(err.Error(), "no store at") {
			t.Errorf("epermit %v on a missing store: %v; want a failure saying there is no store", args, err)
		}
	}
	if _, err := os.Stat(typo); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a command created %s", typo)
	}
	for _, engine := range []store.Engine{store.SQLite, store.Postgres} {
		dsn := storetest.DSN(t, engine)
		if _, err := run(t, ctx, "keys", "list", "--db", dsn); err == nil {
			t.Errorf("keys list on an empty %s database succeeded", engine)
		}
		if out, err := run(t, ctx, "migrate", "--db", dsn); err != nil || !strings.Contains(out, "schema at version") {
			t.Fatalf("migrate on %s = %q, %v", engine, out, err)
		}
		if _, err := run(t, ctx, "keys", "list", "--db", dsn); err != nil {
			t.Errorf("keys list on a migrated %s store: %v", engine, err)
		}
	}
}

// keys init and rotate take --algorithm; a plain rotate keeps the active
// key's algorithm, and keys list says each key's.
func TestKeysAlgorithm(t *testing.T) {
	ctx := context.Background()
	data := newStore(t)
	if _, err := run(t, ctx, "keys", "init", "--data", data, "--algorithm", "rsa"); exitCodeOf(err) != exitUsage {
		t.Fatalf("--algorithm rsa: %v; want a usage error", err)
	}
	if _, err := run(t, ctx, "keys", "init", "--data", data, "--algorithm", "sm2"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, "keys", "rotate", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, "keys", "rotate", "--data", data, "--algorithm", "es256"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, ctx, "keys", "list", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	algs := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		algs[f[1]+" "+f[len(f)-1]]++
	}
	if len(algs) != 2 || algs["active ES256"] != 1 || algs["retired SM2"] != 2 {
		t.Fatalf("keys list: %v, want the active key ES256 and two retired SM2 keys:\n%s", algs, out)
	}
}
