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

	"github.com/emmansun/gmsm/sm2"

	"github.com/epermit/epermit/credential"
)

func TestFilesGenerateSign(t *testing.T) {
	for _, alg := range []Algorithm{ES256, SM2} {
		t.Run(string(alg), func(t *testing.T) {
			f := Files{Dir: t.TempDir()}
			ref, pub, err := f.Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := AlgorithmOf(pub); err != nil || got != alg {
				t.Fatalf("AlgorithmOf = %q, %v; want %q", got, err, alg)
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
			if !pub.Equal(signer.Public()) {
				t.Fatal("the opened key is not the generated one")
			}
			msg := []byte("epermit")
			switch alg {
			case ES256:
				digest := sha256.Sum256(msg)
				sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				if !ecdsa.VerifyASN1(pub, digest[:], sig) {
					t.Fatal("signature does not verify with the generated public key")
				}
			case SM2:
				sig, err := signer.Sign(rand.Reader, msg, sm2.DefaultSM2SignerOpts)
				if err != nil {
					t.Fatal(err)
				}
				if !sm2.VerifyASN1WithSM2(pub, nil, msg, sig) {
					t.Fatal("signature does not verify with the generated public key")
				}
			}
			if err := f.Remove(ref); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Signer(ref); err == nil {
				t.Fatal("removed key still opens")
			}
		})
	}
}

func TestParseAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Algorithm
		ok   bool
	}{{"", ES256, true}, {"es256", ES256, true}, {"SM2", SM2, true}, {"sm2", SM2, true}, {"rs256", "", false}, {"ed25519", "", false}} {
		got, err := ParseAlgorithm(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseAlgorithm(%q) = %q, %v", tc.in, got, err)
		}
	}
	if _, _, err := (Files{Dir: t.TempDir()}).Generate("rs256"); err == nil {
		t.Error("Generate made a key of an unknown algorithm")
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
