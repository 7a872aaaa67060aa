package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epermit/epermit/credential"
)

func TestFilesGenerateSign(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	ref, pub, err := f.Generate()
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := credential.KeyIDString(pub)
	if want := "file:keys/" + kid + ".pem"; ref != want {
		t.Fatalf("ref = %q, want %q", ref, want)
	}
	info, err := os.Stat(filepath.Join(f.Dir, "keys", kid+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	if dir, _ := os.Stat(filepath.Join(f.Dir, "keys")); dir.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %v, want 0700", dir.Mode().Perm())
	}
	signer, err := f.Signer(ref)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("epermit"))
	sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("signature does not verify with the generated public key")
	}
	if err := f.Remove(ref); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Signer(ref); err == nil {
		t.Fatal("removed key still opens")
	}
}

func TestSignerRefs(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	for _, tc := range []struct{ ref, want string }{
		{"pkcs11:token=nia;object=issuer", "not supported"},
		{"file:keys/missing.pem", "no such file"},
		{"keys/x.pem", "not supported"},
	} {
		if _, err := f.Signer(tc.ref); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Signer(%q) = %v, want error containing %q", tc.ref, err, tc.want)
		}
	}
}

func TestParseKeys(t *testing.T) {
	for _, tc := range []struct {
		name, pem string
		private   bool
	}{
		{"garbage", "not pem", true},
		{"wrong block", "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n", true},
		{"garbage public", "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n", false},
		{"private as public", "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n", false},
	} {
		var err error
		if tc.private {
			_, err = ParsePrivateKey([]byte(tc.pem))
		} else {
			_, err = ParsePublicKey([]byte(tc.pem))
		}
		if err == nil {
			t.Errorf("%s: parsed, want an error", tc.name)
		}
	}
}
