package pki

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
)

func signList(t *testing.T, c chain, seq uint64, cross []byte) string {
	t.Helper()
	s, err := SignTrustList(TrustListClaims{Issuer: "https://epermit.example", Seq: seq, IssuedAt: t0,
		Expiry: t0.AddDate(0, 0, 30), Certificates: [][]byte{c.ds.Raw},
		Revoked: []RevokedKey{{Kid: "AAAAAAAAAAA", RevokedAt: t0.Add(-time.Hour)}}}, c.root, c.rootKey, cross)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTrustListRoundTrip(t *testing.T) {
	for _, alg := range []string{"ES256", "SM2"} {
		t.Run(alg, func(t *testing.T) {
			c := newChain(t, alg, alg)
			l, err := ParseTrustList([]byte(signList(t, c, 7, nil)))
			if err != nil {
				t.Fatal(err)
			}
			signer, err := l.Verify(t0, 0, c.root)
			if err != nil {
				t.Fatal(err)
			}
			if signer != c.root || l.Seq != 7 || l.Alg != alg || l.Kid != c.root.KeyID || l.Cross != nil ||
				!l.IssuedAt.Equal(t0) || !l.Expiry.Equal(t0.AddDate(0, 0, 30)) || l.Issuer != "https://epermit.example" {
				t.Fatalf("list read back as %+v", l)
			}
			if len(l.Keys) != 1 || l.Keys[0].JWK.Kid != c.ds.KeyID || string(l.Keys[0].Certificate.Raw) != string(c.ds.Raw) {
				t.Fatalf("keys %+v", l.Keys)
			}
			if len(l.Revoked) != 1 || l.Revoked[0].Kid != "AAAAAAAAAAA" || !l.Revoked[0].RevokedAt.Equal(t0.Add(-time.Hour)) {
				t.Fatalf("revoked %+v", l.Revoked)
			}
			other := newChain(t, alg, alg)
			if _, err := l.Verify(t0, 0, other.root); !errors.Is(err, ErrTrustListSignature) {
				t.Fatalf("verified under another root: %v", err)
			}
		})
	}
}

func TestSignTrustListRefuses(t *testing.T) {
	c, other := newChain(t, "ES256", "ES256"), newChain(t, "ES256", "ES256")
	good := TrustListClaims{Issuer: "https://x", Seq: 1, IssuedAt: t0, Expiry: t0.Add(time.Hour), Certificates: [][]byte{c.ds.Raw}}
	for _, tc := range []struct {
		name string
		mod  func(*TrustListClaims)
	}{
		{"another root's DS", func(l *TrustListClaims) { l.Certificates = [][]byte{other.ds.Raw} }},
		{"a CA", func(l *TrustListClaims) { l.Certificates = [][]byte{c.root.Raw} }},
		{"twice", func(l *TrustListClaims) { l.Certificates = [][]byte{c.ds.Raw, c.ds.Raw} }},
		{"seq 0", func(l *TrustListClaims) { l.Seq = 0 }},
		{"exp before iat", func(l *TrustListClaims) { l.Expiry = t0 }},
		{"no iss", func(l *TrustListClaims) { l.Issuer = "" }},
	} {
		cl := good
		tc.mod(&cl)
		if _, err := SignTrustList(cl, c.root, c.rootKey, nil); err == nil {
			t.Errorf("%s: signed", tc.name)
		}
	}
	if _, err := SignTrustList(good, c.root, other.rootKey, nil); err == nil {
		t.Error("signed with another key than the root's")
	}
	if _, err := SignTrustList(good, c.root, c.rootKey, other.root.Raw); err == nil {
		t.Error("signed with a cross certificate for another key")
	}
}

func TestTrustListRollover(t *testing.T) {
	for _, alg := range []string{"ES256", "SM2"} {
		t.Run(alg, func(t *testing.T) {
			old, nu := newChain(t, alg, alg), newChain(t, alg, alg)
			crossDER, err := NewCrossCertificate(old.root, old.rootKey, nu.root, t0.AddDate(1, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			l, err := ParseTrustList([]byte(signList(t, nu, 8, crossDER)))
			if err != nil {
				t.Fatal(err)
			}
			signer, err := l.Verify(t0.Add(time.Hour), 0, old.root)
			if err != nil {
				t.Fatalf("a gate holding the old root: %v", err)
			}
			if string(signer.Raw) != string(crossDER) {
				t.Fatal("the signer is not the cross certificate")
			}
			// Adopted, the cross certificate verifies later lists without x5c.
			later, _ := ParseTrustList([]byte(signList(t, nu, 9, nil)))
			if _, err := later.Verify(t0.AddDate(2, 0, 0), 0, signer); err != nil {
				t.Fatalf("a later list under the adopted root: %v", err)
			}
			// A gate holding the new root needs no cross certificate.
			if _, err := l.Verify(t0, 0, nu.root); err != nil {
				t.Fatal(err)
			}
			// After the overlap the cross certificate no longer helps.
			if _, err := l.Verify(t0.AddDate(1, 0, 1), 0, old.root); !errors.Is(err, ErrTrustListSignature) {
				t.Fatalf("cross certificate used after it ended: %v", err)
			}
			// A cross certificate from a root not held does nothing.
			stranger := newChain(t, alg, alg)
			bad, _ := NewCrossCertificate(stranger.root, stranger.rootKey, nu.root, t0.AddDate(1, 0, 0))
			lb, _ := ParseTrustList([]byte(signList(t, nu, 8, bad)))
			if _, err := lb.Verify(t0, 0, old.root); !errors.Is(err, ErrTrustListSignature) {
				t.Fatalf("cross certificate of a stranger root: %v", err)
			}
		})
	}
}

// editList re-encodes a list's header or claims after f changes them, with
// the old signature.
func editList(t *testing.T, list string, part int, f func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(list, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[part])
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, _ = json.Marshal(m)
	parts[part] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestParseTrustListRefuses(t *testing.T) {
	c, other := newChain(t, "ES256", "ES256"), newChain(t, "ES256", "ES256")
	good := signList(t, c, 3, nil)
	key := func(m map[string]any) map[string]any { return m["keys"].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name string
		list string
		sig  bool // a signature failure, not a format failure
	}{
		{"two parts", good[:strings.LastIndexByte(good, '.')], false},
		{"padding", good + "=", false},
		{"typ", editList(t, good, 0, func(m map[string]any) { m["typ"] = "JWT" }), false},
		{"crit", editList(t, good, 0, func(m map[string]any) { m["crit"] = []string{"x"} }), false},
		{"no kid", editList(t, good, 0, func(m map[string]any) { delete(m, "kid") }), false},
		{"unknown claim", editList(t, good, 1, func(m map[string]any) { m["nbf"] = 1 }), false},
		{"no revoked", editList(t, good, 1, func(m map[string]any) { delete(m, "revoked") }), false},
		{"float seq", editList(t, good, 1, func(m map[string]any) { m["seq"] = 3.5 }), false},
		{"seq 0", editList(t, good, 1, func(m map[string]any) { m["seq"] = 0 }), false},
		{"exp ≤ iat", editList(t, good, 1, func(m map[string]any) { m["exp"] = m["iat"] }), false},
		{"key member", editList(t, good, 1, func(m map[string]any) { key(m)["x5u"] = "https://x" }), false},
		{"two x5c", editList(t, good, 1, func(m map[string]any) { key(m)["x5c"] = []string{key(m)["x5c"].([]any)[0].(string), "AA=="} }), false},
		{"no x5c", editList(t, good, 1, func(m map[string]any) { delete(key(m), "x5c") }), false},
		{"base64url x5c", editList(t, good, 1, func(m map[string]any) {
			der, _ := base64.StdEncoding.DecodeString(key(m)["x5c"].([]any)[0].(string))
			key(m)["x5c"] = []string{base64.RawURLEncoding.EncodeToString(der)}
		}), false},
		{"another key's certificate", editList(t, good, 1, func(m map[string]any) {
			key(m)["x5c"] = []string{base64.StdEncoding.EncodeToString(other.ds.Raw)}
		}), false},
		{"the root as a key", editList(t, good, 1, func(m map[string]any) {
			key(m)["x5c"] = []string{base64.StdEncoding.EncodeToString(c.root.Raw)}
		}), false},
		{"altered claims", editList(t, good, 1, func(m map[string]any) { m["seq"] = 4 }), true},
		{"altered alg", editList(t, good, 0, func(m map[string]any) { m["alg"] = "SM2" }), true},
		{"another root's kid", editList(t, good, 0, func(m map[string]any) { m["kid"] = other.root.KeyID }), true},
	} {
		l, err := ParseTrustList([]byte(tc.list))
		if err == nil {
			_, err = l.Verify(t0, 0, c.root)
		}
		want := ErrTrustListFormat
		if tc.sig {
			want = ErrTrustListSignature
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", tc.name, err, want)
		}
	}
	// A list naming another root's DS certificate, signed by this root (as
	// a root side that skipped its check would), is refused at Verify.
	bad := resign(t, editList(t, good, 1, func(m map[string]any) {
		k := key(m)
		jwk := other.ds
		x, y := jwk.PublicKey.X.FillBytes(make([]byte, 32)), jwk.PublicKey.Y.FillBytes(make([]byte, 32))
		k["x"], k["y"], k["kid"] = base64.RawURLEncoding.EncodeToString(x), base64.RawURLEncoding.EncodeToString(y), jwk.KeyID
		k["x5c"] = []string{base64.StdEncoding.EncodeToString(other.ds.Raw)}
	}), c)
	l, err := ParseTrustList([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Verify(t0, 0, c.root); !errors.Is(err, ErrTrustListSignature) || !strings.Contains(err.Error(), other.ds.KeyID) {
		t.Fatalf("a DS certificate of another root: %v", err)
	}
}

// resign signs a list's header and claims again with the chain's root key.
func resign(t *testing.T, list string, c chain) string {
	t.Helper()
	input := list[:strings.LastIndexByte(list, '.')]
	sig, _, err := credential.SignMessage(c.rootKey, []byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
