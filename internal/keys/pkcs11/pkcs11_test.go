//go:build pkcs11

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ThalesGroup/crypto11"
	mpkcs11 "github.com/miekg/pkcs11"

	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/keys/pkcs11/softhsm"
)

func TestGenerateSignReopen(t *testing.T) {
	tok := softhsm.New(t, "epermit-test")
	kms := New()
	defer kms.Close()
	ref, pub, err := kms.Generate(keys.ES256, tok.URI())
	if err != nil {
		t.Fatal(err)
	}
	u, err := keys.ParsePKCS11URI(ref)
	if err != nil {
		t.Fatalf("reference %q: %v", ref, err)
	}
	if u.Token != tok.Label || u.Object != DefaultObject || len(u.ID) != 16 || u.PINSource != tok.PINFile || u.PINValue != "" {
		t.Fatalf("reference %q does not name the token, the key and the PIN file", ref)
	}

	sign := func(kms *KMS) {
		t.Helper()
		s, err := kms.Signer(ref)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Public().(*ecdsa.PublicKey).Equal(pub) {
			t.Fatal("the signer's public key is not the generated one")
		}
		digest := sha256.Sum256([]byte("status list"))
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatal("signature made in the token does not verify")
		}
	}
	sign(kms)
	// The key is a token object: another process (here, a fresh KMS after
	// the module was unloaded) finds it by its reference.
	if err := kms.Close(); err != nil {
		t.Fatal(err)
	}
	again := New()
	defer again.Close()
	sign(again)

	// A second key in the same token gets its own id.
	ref2, _, err := again.Generate(keys.ES256, tok.URI())
	if err != nil || ref2 == ref {
		t.Fatalf("second key: %q, %v", ref2, err)
	}
	if err := again.Remove(ref2); err != nil {
		t.Fatal(err)
	}
	if _, err := again.Signer(ref2); err == nil || !strings.Contains(err.Error(), "no key pair") {
		t.Fatalf("removed key opens: %v", err)
	}
	sign(again) // the first is untouched
}

// The private key is generated sensitive and not extractable: the token
// refuses to give out its value, to epermit or anyone with the PIN.
func TestKeyNotExtractable(t *testing.T) {
	tok := softhsm.New(t, "epermit-test")
	kms := New()
	defer kms.Close()
	ref, _, err := kms.Generate(keys.ES256, tok.URI())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := keys.ParsePKCS11URI(ref)
	c, err := kms.Token(u)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := c.FindPrivateKey(u.ID, []byte(u.Object))
	if err != nil || priv == nil {
		t.Fatalf("private key object: %v, %v", priv, err)
	}
	attrs, err := c.GetAttributes(priv, []crypto11.AttributeType{crypto11.CkaSensitive, crypto11.CkaExtractable,
		crypto11.CkaAlwaysSensitive, crypto11.CkaNeverExtractable, crypto11.CkaToken})
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[crypto11.AttributeType]byte{crypto11.CkaSensitive: 1, crypto11.CkaExtractable: 0,
		crypto11.CkaAlwaysSensitive: 1, crypto11.CkaNeverExtractable: 1, crypto11.CkaToken: 1} {
		a := attrs[typ]
		if a == nil || len(a.Value) != 1 || a.Value[0] != want {
			t.Errorf("attribute %#x = %v, want %d", typ, a, want)
		}
	}
	// Reading the private value (CKA_VALUE) fails with CKR_ATTRIBUTE_SENSITIVE.
	_, err = c.GetAttribute(priv, crypto11.CkaValue)
	var p11 mpkcs11.Error
	if !errors.As(err, &p11) || p11 != mpkcs11.CKR_ATTRIBUTE_SENSITIVE {
		t.Fatalf("reading the private key's value: %v, want CKR_ATTRIBUTE_SENSITIVE", err)
	}
}

// Replicas' requests sign at once: the signer shares the token's session
// pool safely.
func TestParallelSigning(t *testing.T) {
	tok := softhsm.New(t, "epermit-test")
	kms := New()
	defer kms.Close()
	ref, pub, err := kms.Generate(keys.ES256, tok.URI())
	if err != nil {
		t.Fatal(err)
	}
	s, err := kms.Signer(ref)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				digest := sha256.Sum256([]byte{byte(g), byte(i)})
				sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
				if err == nil && !ecdsa.VerifyASN1(pub, digest[:], sig) {
					err = errors.New("signature does not verify")
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// When the token's sessions stop working (here: the token is closed under
// the signer, as an HSM restart leaves them), the next signature reopens
// the token and succeeds.
func TestSignerReopensTheToken(t *testing.T) {
	tok := softhsm.New(t, "epermit-test")
	kms := New()
	defer kms.Close()
	ref, pub, err := kms.Generate(keys.ES256, tok.URI())
	if err != nil {
		t.Fatal(err)
	}
	s, err := kms.Signer(ref)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("status list"))
	for i := range 2 {
		if i == 1 {
			kms.Close() // every session and handle the signer had is gone
		}
		sig, err := s.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil || !ecdsa.VerifyASN1(pub, digest[:], sig) {
			t.Fatalf("signature %d: %v", i, err)
		}
	}
}

func TestOpenFailures(t *testing.T) {
	tok := softhsm.New(t, "epermit-test")
	kms := New()
	ref, _, err := kms.Generate(keys.ES256, tok.URI())
	if err != nil {
		t.Fatal(err)
	}
	// Logging in is per process in PKCS#11: close, so that each case
	// below logs in afresh.
	kms.Close()
	u, _ := keys.ParsePKCS11URI(ref)
	for _, tc := range []struct {
		name string
		edit func(u *keys.PKCS11URI)
		want string
	}{
		{"wrong PIN", func(u *keys.PKCS11URI) { u.PINSource, u.PINValue = "", "000000" }, "CKR_PIN_INCORRECT"},
		{"no PIN", func(u *keys.PKCS11URI) { u.PINSource = "" }, keys.PINEnv},
		{"unknown token", func(u *keys.PKCS11URI) { u.Token = "other" }, "token"},
		{"unknown key", func(u *keys.PKCS11URI) { u.ID = []byte{1, 2, 3} }, "no key pair"},
		{"no module", func(u *keys.PKCS11URI) { u.ModulePath = "/nonexistent/libpkcs11.so" }, "module"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := *u
			tc.edit(&v)
			fresh := New()
			defer fresh.Close()
			_, err := fresh.Signer(v.String())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Signer(%s) = %v, want an error about %q", v.String(), err, tc.want)
			}
		})
	}
}
