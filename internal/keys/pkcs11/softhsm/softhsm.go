// Package softhsm sets up SoftHSM2 tokens for tests: a configuration and a
// token directory of the test's own, and a token initialised in it with
// softhsm2-util. Without SoftHSM2 the test is skipped, except under
// CI=true, where it fails: CI installs SoftHSM2 and must run these tests.
package softhsm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Module is where Debian's softhsm2 package puts the PKCS#11 library.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// PIN is the user PIN of test tokens.
const PIN = "123456"

// Token is a SoftHSM2 token initialised for one test.
type Token struct {
	Label   string
	PINFile string // a file holding PIN, for pin-source=
}

// URI returns a pkcs11: URI naming the token, with the module path and the
// PIN file: a location for new keys.
func (t Token) URI() string {
	return fmt.Sprintf("pkcs11:token=%s?module-path=%s&pin-source=%s", t.Label, Module, t.PINFile)
}

// New points SOFTHSM2_CONF at a fresh token directory under t.TempDir and
// initialises a token labelled label in it. The module reads SOFTHSM2_CONF
// when first loaded, so a test must close every token it opened (KMS.Close)
// before the next test makes its own; tests using New cannot be parallel.
func New(t testing.TB, label string) Token {
	t.Helper()
	util, err := exec.LookPath("softhsm2-util")
	_, modErr := os.Stat(Module)
	if err != nil || modErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("SoftHSM2 is not installed (softhsm2-util: %v; %s: %v): CI must run the PKCS#11 tests", err, Module, modErr)
		}
		t.Skip("SoftHSM2 is not installed (apt-get install softhsm2): skipping the PKCS#11 test")
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+tokens+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tb, ok := t.(interface{ Setenv(string, string) }); ok {
		tb.Setenv("SOFTHSM2_CONF", conf)
	} else {
		t.Fatal("softhsm: New needs a *testing.T or *testing.B")
	}
	out, err := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "12345678").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	pinFile := filepath.Join(dir, "pin")
	if err := os.WriteFile(pinFile, []byte(PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Token{Label: label, PINFile: pinFile}
}
