package sm2_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	gmsm "github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/sm2"
)

var t0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

type fixture struct {
	issuer *gmsm.PrivateKey
	p256   *ecdsa.PrivateKey // an ES256 issuer key of the same trust list
	holder *ecdsa.PrivateKey
	kid    []byte
	claims credential.Claims
	keys   map[string]*ecdsa.PublicKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	issuer, err := gmsm.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	holder, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kid, err := credential.KeyID(&issuer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var set credential.JWKSet
	for _, k := range []*ecdsa.PublicKey{&issuer.PublicKey, &p256.PublicKey} {
		j, err := credential.NewJWK(k)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, j)
	}
	data, _ := json.Marshal(set)
	keys, err := credential.ParseJWKSet(data)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{issuer: issuer, p256: p256, holder: holder, kid: kid, keys: keys,
		claims: credential.Claims{Issuer: "CN-NIA", IssuedAt: t0, NotBefore: t0, Expiry: t0.Add(7 * 24 * time.Hour),
			ID: [16]byte{1, 2, 3}, Holder: &holder.PublicKey,
			Status: credential.StatusRef{Idx: 7, URI: "https://s.example/s/1"},
			Permit: credential.Permit{Kind: 1, DocumentType: 1, DocumentNumber: "H12345678", Name: "陳大文",
				LatinName: "CHAN, TAI MAN", Sex: 1, BirthDate: "1990-01-01",
				Scopes: []credential.Scope{credential.ScopeFlight}, Reason: 1}}}
}

func (f *fixture) lookup(kid string) (*ecdsa.PublicKey, bool) { k, ok := f.keys[kid]; return k, ok }

// The SM2 key's kid is derived from the SubjectPublicKeyInfo with
// id-ecPublicKey and the SM2 curve OID, and its JWK is {crv SM2, alg SM2}.
func TestKeyAndJWK(t *testing.T) {
	f := newFixture(t)
	der, err := credential.MarshalPublicKey(&f.issuer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// 06 08 2a 81 1c cf 55 01 82 2d = OID 1.2.156.10197.1.301;
	// 06 07 2a 86 48 ce 3d 02 01 = id-ecPublicKey.
	for _, oid := range []string{"\x06\x08\x2a\x81\x1c\xcf\x55\x01\x82\x2d", "\x06\x07\x2a\x86\x48\xce\x3d\x02\x01"} {
		if !strings.Contains(string(der), oid) {
			t.Errorf("SPKI lacks OID % x", oid)
		}
	}
	back, err := credential.ParsePublicKey(der)
	if err != nil || !back.Equal(&f.issuer.PublicKey) {
		t.Fatalf("ParsePublicKey = %v, %v", back, err)
	}
	want, _ := smx509.MarshalPKIXPublicKey(&f.issuer.PublicKey)
	if string(want) != string(der) {
		t.Error("SPKI differs from gmsm's")
	}
	j, err := credential.NewJWK(&f.issuer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if j.Kty != "EC" || j.Crv != "SM2" || j.Alg != "SM2" || j.Use != "sig" || len(j.X) != 43 || len(j.Y) != 43 {
		t.Fatalf("JWK %+v", j)
	}
	if alg, _ := credential.KeyAlgorithm(&f.issuer.PublicKey); alg != "SM2" {
		t.Errorf("KeyAlgorithm = %q", alg)
	}
	for name, mutate := range map[string]func(*credential.JWK){
		"alg ES256": func(j *credential.JWK) { j.Alg = "ES256" },
		"crv P-256": func(j *credential.JWK) { j.Crv = "P-256" },
		"wrong kid": func(j *credential.JWK) { j.Kid = "AAAAAAAAAAA" },
		"off curve": func(j *credential.JWK) { j.Y = j.X },
		"kty OKP":   func(j *credential.JWK) { j.Kty = "OKP" },
		"use enc":   func(j *credential.JWK) { j.Use = "enc" },
		"short x":   func(j *credential.JWK) { j.X = j.X[:40] },
	} {
		bad := j
		mutate(&bad)
		if _, err := bad.PublicKey(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEPermit(t *testing.T) {
	f := newFixture(t)
	token, err := credential.SignEPermit(f.claims, f.kid, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	pres, err := credential.Present(token, f.holder, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	p, err := credential.ParseQR(credential.EncodeQR(pres))
	if err != nil {
		t.Fatal(err)
	}
	if p.Credential.Alg != credential.AlgSM2 {
		t.Fatalf("alg %d", p.Credential.Alg)
	}
	key, ok := f.lookup(p.Credential.KidText())
	if !ok {
		t.Fatal("kid not in the trust list")
	}
	if err := p.CheckAlgorithms(); err != nil {
		t.Fatal(err)
	}
	if err := p.VerifyIssuer(key); err != nil {
		t.Fatal(err)
	}
	if err := p.VerifyHolderProof(); err != nil {
		t.Fatal(err)
	}
	// The key decides the algorithm: an SM2 signature under a P-256 key's
	// kid is refused as algorithm, not tried as ES256.
	if err := p.VerifyIssuer(&f.p256.PublicKey); !errors.Is(err, credential.ErrAlgorithm) {
		t.Errorf("SM2 credential with a P-256 key: %v, want ErrAlgorithm", err)
	}
	other, _ := gmsm.GenerateKey(rand.Reader)
	if err := p.VerifyIssuer(&other.PublicKey); !errors.Is(err, credential.ErrBadSignature) {
		t.Errorf("another SM2 key: %v, want ErrBadSignature", err)
	}
	// And an ES256 credential is refused under an SM2 key.
	kid256, _ := credential.KeyID(&f.p256.PublicKey)
	es, err := credential.SignEPermit(f.claims, kid256, f.p256)
	if err != nil {
		t.Fatal(err)
	}
	e, err := credential.ParseEPermit(es)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.VerifySignature(&f.issuer.PublicKey); !errors.Is(err, credential.ErrAlgorithm) {
		t.Errorf("ES256 credential with an SM2 key: %v, want ErrAlgorithm", err)
	}
	// A tampered payload fails.
	tampered := []byte(string(token))
	tampered[len(tampered)-70] ^= 1
	if e, err := credential.ParseEPermit(tampered); err == nil && e.VerifySignature(key) == nil {
		t.Error("tampered credential verifies")
	}
	// The holder key must stay P-256: an SM2 holder proof is refused.
	if _, err := credential.Present(token, other, t0); err == nil {
		t.Error("Present accepted an SM2 holder key")
	}
}

func TestStatusLists(t *testing.T) {
	f := newFixture(t)
	l, _ := credential.NewStatusList(1024)
	if err := l.Set(7, credential.StatusRevoked); err != nil {
		t.Fatal(err)
	}
	c := credential.StatusListClaims{Subject: "https://s.example/s/1", IssuedAt: t0, Expiry: t0.Add(24 * time.Hour), TTL: 5 * time.Minute, List: l}
	cwt, err := credential.SignStatusListCWT(c, nil, f.kid, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := credential.SignStatusListJWT(c, nil, f.kid, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(jwt), "eyJhbGciOiJTTTIi") { // {"alg":"SM2"
		t.Errorf("JWT header: %.40s", jwt)
	}
	for name, parse := range map[string]func(credential.KeyLookup) (*credential.StatusListToken, error){
		"cwt": func(k credential.KeyLookup) (*credential.StatusListToken, error) {
			return credential.ParseStatusListCWT(cwt, k)
		},
		"jwt": func(k credential.KeyLookup) (*credential.StatusListToken, error) {
			return credential.ParseStatusListJWT(jwt, k)
		},
	} {
		tok, err := parse(f.lookup)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v, _ := tok.List.Get(7); v != credential.StatusRevoked {
			t.Errorf("%s: entry 7 = %v", name, v)
		}
		// Same kid, but the trust list says P-256: algorithm.
		p256 := func(string) (*ecdsa.PublicKey, bool) { return &f.p256.PublicKey, true }
		if _, err := parse(p256); !errors.Is(err, credential.ErrAlgorithm) {
			t.Errorf("%s under a P-256 key: %v, want ErrAlgorithm", name, err)
		}
	}
}

func TestLinkage(t *testing.T) {
	f := newFixture(t)
	kid, _ := credential.KeyIDString(&f.issuer.PublicKey)
	sd, err := credential.IssueLinkage(credential.LinkageClaims{Issuer: "https://epermit.example", IssuedAt: t0, Expiry: t0.Add(30 * 24 * time.Hour),
		Holder: &f.holder.PublicKey, Status: credential.StatusRef{Idx: 3, URI: "https://s.example/s/1"},
		LatinName: "CHAN, TAI MAN", BirthDate: "1990-01-01", Sex: 1, TravelPermitType: "hk", TravelPermitNumber: "H12345678",
		ResidencePermitNumber: "81000019900101001X"}, kid, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	pres, err := credential.PresentLinkage(sd, []string{"latin_name"}, f.holder, "bank", "n0nce", t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	s, err := credential.ParseSDJWT(pres)
	if err != nil {
		t.Fatal(err)
	}
	if s.Alg != "SM2" {
		t.Fatalf("alg %q", s.Alg)
	}
	if err := s.VerifyIssuer(&f.issuer.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyKeyBinding(); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyIssuer(&f.p256.PublicKey); !errors.Is(err, credential.ErrAlgorithm) {
		t.Errorf("under a P-256 key: %v, want ErrAlgorithm", err)
	}
}

// NewHash (with its cache of Z_A) gives e = SM3(Z_A || M) as gmsm computes
// it for the default distinguishing ID, for more keys than the cache holds
// and for each key again after.
func TestNewHashIsSM2Hash(t *testing.T) {
	var a sm2.Algorithm
	msg := []byte("Signature1 and more")
	var ks []*gmsm.PrivateKey
	for range 70 {
		k, err := gmsm.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	for round := range 2 {
		for i, k := range ks {
			h, err := a.NewHash(&k.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(msg)
			want, _ := gmsm.CalculateSM2Hash(&k.PublicKey, msg, []byte("1234567812345678"))
			if got := h.Sum(nil); string(got) != string(want) {
				t.Fatalf("round %d key %d: e = %x, want %x", round, i, got, want)
			}
		}
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := a.NewHash(&p256.PublicKey); err == nil {
		t.Error("NewHash took a P-256 key")
	}
}

// A JWS of the issuer (OpenID4VP's verifier attestation and request
// object) is signed in the issuer key's suite: alg SM2 with SM2-SM3 for an
// SM2 key, ES256 for a P-256 key, whatever the header asked.
func TestSignJWS(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		signer crypto.Signer
		alg    string
	}{
		{"sm2", f.issuer, "SM2"},
		{"p256", f.p256, "ES256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := credential.SignJWS(map[string]any{"typ": credential.TypRequestObject, "alg": "ES256"},
				map[string]any{"iss": "x"}, tc.signer)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(s, ".")
			hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			var h map[string]any
			if err := json.Unmarshal(hb, &h); err != nil || h["alg"] != tc.alg || h["typ"] != credential.TypRequestObject {
				t.Fatalf("header %s, want alg %s", hb, tc.alg)
			}
			pub := tc.signer.Public().(*ecdsa.PublicKey)
			input := []byte(parts[0] + "." + parts[1])
			var ok bool
			if tc.alg == "SM2" {
				hash, err := sm2.Algorithm{}.NewHash(pub)
				if err != nil {
					t.Fatal(err)
				}
				hash.Write(input)
				ok = sm2.Algorithm{}.VerifyDigest(pub, hash.Sum(nil), sig)
			} else {
				d := sha256.Sum256(input)
				ok = len(sig) == 64 && ecdsa.Verify(pub, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
			}
			if !ok {
				t.Errorf("the %s signature does not verify", tc.alg)
			}
		})
	}
}
