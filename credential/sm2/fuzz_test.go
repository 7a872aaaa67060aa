package sm2_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/epermit/epermit/credential"
)

// FuzzTrustListSM2 feeds trust lists to a program with SM2 registered:
// nothing may panic, and every key accepted must come back the same through
// NewJWK, kid included.
func FuzzTrustListSM2(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "..", "verify", "testdata", "vectors-sm2.json"))
	if err != nil {
		f.Fatal(err)
	}
	var v struct {
		JWKS json.RawMessage `json:"jwks"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatal(err)
	}
	f.Add(string(v.JWKS))
	f.Add(strings.Replace(string(v.JWKS), `"SM2","x"`, `"P-256","x"`, 1))
	f.Add(`{"keys":[{"kty":"EC","crv":"SM2","x":"","y":"","kid":"","alg":"SM2","use":"sig"}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		keys, err := credential.ParseJWKSet([]byte(data))
		if err != nil {
			if errors.Is(err, credential.ErrUnsupportedKey) {
				t.Fatalf("SM2 is registered, yet: %v", err)
			}
			return
		}
		for kid, pub := range keys {
			j, err := credential.NewJWK(pub)
			if err != nil {
				t.Fatalf("accepted key %s: NewJWK: %v", kid, err)
			}
			back, err := j.PublicKey()
			if err != nil || j.Kid != kid || !back.Equal(pub) {
				t.Fatalf("key %s does not round-trip: %+v, %v", kid, j, err)
			}
		}
	})
}

// FuzzParseQRSM2 runs a verifier's steps on presentations with SM2
// registered, with the SM2 vectors as seeds: nothing may panic.
func FuzzParseQRSM2(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "..", "verify", "testdata", "vectors-sm2.json"))
	if err != nil {
		f.Fatal(err)
	}
	var v struct {
		JWKS  json.RawMessage `json:"jwks"`
		Cases []struct{ Text string }
	}
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatal(err)
	}
	keys, err := credential.ParseJWKSet(v.JWKS)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range v.Cases {
		f.Add(c.Text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := credential.ParseQR(text)
		if err != nil {
			return
		}
		_ = p.CheckAlgorithms()
		for _, k := range keys { // each suite's key, whatever the kid says
			_ = p.VerifyIssuer(k)
		}
		_ = p.VerifyHolderProof()
	})
}
