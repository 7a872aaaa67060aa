package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestProofJWT(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	at := time.Unix(1_800_000_000, 0).UTC()
	good, err := MakeProofJWT(key, "https://epermit.example", "n1", at)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProofJWT(good)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Holder.Equal(&key.PublicKey) || p.Audience != "https://epermit.example" || p.Nonce != "n1" || !p.IssuedAt.Equal(at) {
		t.Fatalf("parsed %+v", p)
	}
	enc := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(good, ".")
	jwk, _ := NewJWK(&key.PublicKey)
	hdr := func(s string) []byte { return []byte(s) }
	signed := func(h, p string) string {
		s, err := signCompact(hdr(h), []byte(p), key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	jwkJSON := `{"kty":"EC","crv":"P-256","x":"` + jwk.X + `","y":"` + jwk.Y + `"}`
	claims := `{"aud":"https://epermit.example","iat":1800000000,"nonce":"n1"}`
	for _, tc := range []struct{ name, jwt string }{
		{"two parts", parts[0] + "." + parts[1]},
		{"signature of another key", func() string {
			s, _ := MakeProofJWT(other, "a", "n", at)
			return parts[0] + "." + parts[1] + "." + strings.Split(s, ".")[2]
		}()},
		{"wrong typ", signed(`{"alg":"ES256","typ":"JWT","jwk":`+jwkJSON+`}`, claims)},
		{"alg none", parts[0][:0] + enc([]byte(`{"alg":"none","typ":"openid4vci-proof+jwt","jwk":`+jwkJSON+`}`)) + "." + parts[1] + "."},
		{"kid instead of jwk", signed(`{"alg":"ES256","typ":"openid4vci-proof+jwt","kid":"k"}`, claims)},
		{"jwk and kid", signed(`{"alg":"ES256","typ":"openid4vci-proof+jwt","kid":"k","jwk":`+jwkJSON+`}`, claims)},
		{"crit", signed(`{"alg":"ES256","typ":"openid4vci-proof+jwt","crit":["x"],"jwk":`+jwkJSON+`}`, claims)},
		{"duplicate member", signed(`{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":`+jwkJSON+`}`, `{"aud":"a","aud":"b","iat":1}`)},
		{"no iat", signed(`{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":`+jwkJSON+`}`, `{"aud":"a","nonce":"n"}`)},
		{"two audiences", signed(`{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":`+jwkJSON+`}`, `{"aud":["a","b"],"iat":1}`)},
		{"too long", strings.Repeat("a", MaxProofLength+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseProofJWT(tc.jwt); !errors.Is(err, ErrProof) {
				t.Fatalf("err = %v, want ErrProof", err)
			}
		})
	}
	// An array aud of one is RFC 7519's other spelling.
	if _, err := ParseProofJWT(signed(`{"alg":"ES256","typ":"openid4vci-proof+jwt","jwk":`+jwkJSON+`}`, `{"aud":["a"],"iat":1,"nonce":"n"}`)); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseProofJWT(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := MakeProofJWT(key, "a", "n", time.Unix(1, 0))
	f.Add(s)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProofJWT(s)
		if err == nil && p.Holder == nil {
			t.Fatal("a proof without a key")
		}
	})
}
