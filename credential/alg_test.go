package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// sm2JWK is an SM2 issuer key's trust-list entry (spec §1.1). This package's
// tests run without SM2 registered: they are the ES256-only verifier.
const sm2JWK = `{"kty":"EC","crv":"SM2","x":"NLLmTPkyml2kJq4E3TxQe30PBJF2Z4MuYV7ikZpdJhA","y":"sA9Yeb52UztY2jAcJl2iHxGOYseE5q9g3y28JzinlQ0","kid":"NZE88FvF_i8","alg":"SM2","use":"sig"}`

// A trust list holding both suites works in a program without SM2: the SM2
// key is left out, and what it signed is signed by an unknown key.
func TestJWKSetWithoutSM2(t *testing.T) {
	if got := Algorithms(); len(got) != 1 || got[0] != JOSEES256 {
		t.Fatalf("Algorithms() = %v: SM2 must not be registered in this package's tests", got)
	}
	f := newFixture(t)
	es, err := NewJWK(&f.issuer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	esJSON, _ := json.Marshal(es)
	keys, err := ParseJWKSet([]byte(`{"keys":[` + sm2JWK + `,` + string(esJSON) + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[es.Kid] == nil {
		t.Fatalf("keys = %v, want only the P-256 key", keys)
	}
	if _, ok := keys["NZE88FvF_i8"]; ok {
		t.Fatal("SM2 key kept without SM2")
	}
	var j JWK
	if err := json.Unmarshal([]byte(sm2JWK), &j); err != nil {
		t.Fatal(err)
	}
	if _, err := j.PublicKey(); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("SM2 JWK without SM2: %v, want ErrUnsupportedKey", err)
	}
	// Other curves still make the whole list invalid.
	for _, bad := range []string{
		strings.Replace(sm2JWK, `"SM2","x"`, `"P-384","x"`, 1),
		strings.Replace(sm2JWK, `"EC"`, `"OKP"`, 1),
	} {
		if _, err := ParseJWKSet([]byte(`{"keys":[` + bad + `]}`)); err == nil || errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("%s: err = %v, want the list refused", bad, err)
		}
	}
}

// An SM2 alg in a credential is refused as algorithm where SM2 is not
// supported, and keys of no issuer algorithm sign nothing.
func TestNoSM2(t *testing.T) {
	f := newFixture(t)
	p := f.present(t)
	pr, err := ParsePresentation(p)
	if err != nil {
		t.Fatal(err)
	}
	pr.Credential.Alg = AlgSM2
	if err := pr.CheckAlgorithms(); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("CheckAlgorithms with alg -70100 and no SM2: %v", err)
	}
	if err := pr.Credential.VerifySignature(&f.issuer.PublicKey); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("alg -70100 under a P-256 key: %v, want ErrAlgorithm", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := SignEPermit(f.claims, []byte("12345678"), p384); err == nil {
		t.Error("SignEPermit signed with a P-384 key")
	}
	if _, err := NewJWK(&p384.PublicKey); err == nil {
		t.Error("NewJWK made a P-384 trust-list entry")
	}
	if _, err := MarshalPublicKey(&p384.PublicKey); err == nil {
		t.Error("MarshalPublicKey took a P-384 key")
	}
}

func TestRegisterAlgorithmRefusesES256(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "ES256 is built in") {
			t.Errorf("RegisterAlgorithm of ES256's identifiers: recovered %q", r)
		}
	}()
	RegisterAlgorithm(fakeAlg{})
}

// fakeAlg claims ES256's identifiers.
type fakeAlg struct{ Algorithm }

func (fakeAlg) COSE() int64 { return AlgES256 }
