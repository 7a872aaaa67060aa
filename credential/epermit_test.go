package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRoundTrip signs, presents, encodes, parses and verifies a range of
// credentials and expects the same claims back.
func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	cases := map[string]func(c *Claims){
		"fixture": func(*Claims) {},
		"no Chinese name, Macau": func(c *Claims) {
			c.Permit.Name = ""
			c.Permit.DocumentType = DocHomeReturnPermitMacau
			c.Permit.DocumentNumber = "M1234567890"
		},
		"Taiwan, female, lost, flights only": func(c *Claims) {
			c.Permit.DocumentType = DocTaiwanResidentsPermit
			c.Permit.DocumentNumber = "12345678"
			c.Permit.Sex = SexFemale
			c.Permit.Reason = ReasonLost
			c.Permit.Scopes = []Scope{ScopeFlight}
		},
		"electronic permit with border scope": func(c *Claims) {
			c.Permit.Kind = KindElectronicPermit
			c.Permit.Scopes = []Scope{ScopeFlight, ScopeTrain, ScopeBorder}
			c.Permit.Reason = ReasonDamaged
		},
		"big status index, expiry capped by the document": func(c *Claims) {
			c.Status.Idx = 1<<32 + 5
			c.Expiry = c.IssuedAt.Add(26 * time.Hour)
		},
		"pre-1970 nbf": func(c *Claims) {
			c.NotBefore = time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			g := f
			g.claims.Permit.Scopes = slices.Clone(f.claims.Permit.Scopes)
			edit(&g.claims)
			// A fresh holder key each time, for variety in the compressed
			// sign bit (the fixture's y is even, the vector's odd).
			holder, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			g.holder, g.claims.Holder = holder, &holder.PublicKey
			p, err := ParseQR(EncodeQR(g.present(t)))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.CheckAlgorithms(); err != nil {
				t.Fatal(err)
			}
			if err := p.VerifyIssuer(&g.issuer.PublicKey); err != nil {
				t.Fatal(err)
			}
			if err := p.VerifyHolderProof(); err != nil {
				t.Fatal(err)
			}
			if !p.ProofIssuedAt.Equal(g.proofAt) {
				t.Errorf("proof iat = %v, want %v", p.ProofIssuedAt, g.proofAt)
			}
			got := p.Credential.Claims
			if !got.Holder.Equal(g.claims.Holder) {
				t.Error("holder key differs")
			}
			got.Holder, g.claims.Holder = nil, nil
			if !reflect.DeepEqual(got, g.claims) {
				t.Errorf("claims differ:\n got  %+v\n want %+v", got, g.claims)
			}
			if p.Credential.Kid == nil || p.Credential.KidText() != mustKidText(t, &g.issuer.PublicKey) {
				t.Errorf("kid = %x", p.Credential.Kid)
			}
		})
	}
}

func mustKidText(t *testing.T, pub *ecdsa.PublicKey) string {
	s, err := KeyIDString(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTamper flips each byte of the payload and the signatures, re-wrapping
// so the result still parses, and expects the signature checks to fail.
func TestTamper(t *testing.T) {
	f := newFixture(t)
	good := f.parts(t)
	pres := f.presentation(t, good)
	base, err := ParsePresentation(pres)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	t.Run("payload", func(t *testing.T) {
		for i := range base.Credential.payload {
			e := base.Credential // copy; the claims are not re-read
			e.payload = slices.Clone(e.payload)
			e.payload[i] ^= 0x20
			if !errors.Is(e.VerifySignature(&f.issuer.PublicKey), ErrBadSignature) {
				t.Fatalf("payload byte %d flipped: issuer signature still verifies", i)
			}
		}
	})
	t.Run("issuer signature", func(t *testing.T) {
		for i := range base.Credential.Signature {
			e := base.Credential
			e.Signature = slices.Clone(e.Signature)
			e.Signature[i] ^= 0x01
			if !errors.Is(e.VerifySignature(&f.issuer.PublicKey), ErrBadSignature) {
				t.Fatalf("signature byte %d flipped: still verifies", i)
			}
		}
	})
	t.Run("credential bytes under the proof", func(t *testing.T) {
		for i := range base.Credential.Raw {
			p := *base
			p.Credential.Raw = slices.Clone(p.Credential.Raw)
			p.Credential.Raw[i] ^= 0x01
			if !errors.Is(p.VerifyHolderProof(), ErrBadHolderProof) {
				t.Fatalf("credential byte %d flipped: holder proof still verifies", i)
			}
		}
	})
	t.Run("holder signature", func(t *testing.T) {
		for i := range base.ProofSignature {
			p := *base
			p.ProofSignature = slices.Clone(p.ProofSignature)
			p.ProofSignature[i] ^= 0x80
			if !errors.Is(p.VerifyHolderProof(), ErrBadHolderProof) {
				t.Fatalf("proof signature byte %d flipped: still verifies", i)
			}
		}
	})
	t.Run("proof iat", func(t *testing.T) {
		p := good
		p.proofProtected = slices.Clone(p.proofProtected)
		p.proofProtected[len(p.proofProtected)-1]++ // one second later than signed
		cred, proof := splitPresentation(t, f.presentation(t, p))
		_, goodProof := splitPresentation(t, pres)
		// Keep the tampered header, but the signature made over the original.
		s1, _ := readSign1(proof)
		s0, _ := readSign1(goodProof)
		forged := appendSign1(nil, s1.protected, nil, nil, s0.signature)
		q, err := ParsePresentation(joinPresentation(cred, forged))
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(q.VerifyHolderProof(), ErrBadHolderProof) {
			t.Fatal("proof iat changed: still verifies")
		}
	})
	t.Run("wrong keys", func(t *testing.T) {
		if !errors.Is(base.VerifyIssuer(&other.PublicKey), ErrBadSignature) {
			t.Error("verifies with another issuer key")
		}
		if !errors.Is(base.VerifyIssuer(&f.holder.PublicKey), ErrBadSignature) {
			t.Error("verifies with the holder key as issuer")
		}
		if !errors.Is(base.VerifyIssuer(nil), ErrBadSignature) {
			t.Error("verifies with no key")
		}
		p := *base
		p.Credential.Claims.Holder = &other.PublicKey
		if !errors.Is(p.VerifyHolderProof(), ErrBadHolderProof) {
			t.Error("proof verifies with another holder key")
		}
		p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if !errors.Is(base.VerifyIssuer(&p384.PublicKey), ErrBadSignature) {
			t.Error("verifies with a P-384 key")
		}
	})
	t.Run("signature of the wrong length", func(t *testing.T) {
		e := base.Credential
		e.Signature = append(slices.Clone(e.Signature), 0)
		if !errors.Is(e.VerifySignature(&f.issuer.PublicKey), ErrBadSignature) {
			t.Error("65-byte signature verifies")
		}
	})
}

// TestSignRefuses covers SignEPermit's and Present's input checks.
func TestSignRefuses(t *testing.T) {
	f := newFixture(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, c := range map[string]struct {
		edit   func(*Claims)
		kid    []byte
		signer *ecdsa.PrivateKey
	}{
		"no issuer":          {edit: func(c *Claims) { c.Issuer = "" }},
		"no iat":             {edit: func(c *Claims) { c.IssuedAt = time.Time{} }},
		"exp before nbf":     {edit: func(c *Claims) { c.Expiry = c.NotBefore.Add(-time.Second) }},
		"no cti":             {edit: func(c *Claims) { c.ID = [16]byte{} }},
		"no holder key":      {edit: func(c *Claims) { c.Holder = nil }},
		"P-384 holder key":   {edit: func(c *Claims) { c.Holder = &p384.PublicKey }},
		"no document number": {edit: func(c *Claims) { c.Permit.DocumentNumber = "" }},
		"no status uri":      {edit: func(c *Claims) { c.Status.URI = "" }},
		"name not UTF-8":     {edit: func(c *Claims) { c.Permit.Name = "\xff" }},
		"kid of another key": {kid: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		"P-384 signer":       {signer: p384},
	} {
		t.Run(name, func(t *testing.T) {
			claims := f.claims
			if c.edit != nil {
				c.edit(&claims)
			}
			kid, signer := f.kid, f.issuer
			if c.kid != nil {
				kid = c.kid
			}
			if c.signer != nil {
				signer = c.signer
			}
			if cred, err := SignEPermit(claims, kid, signer); err == nil {
				t.Fatalf("signed: %x", cred)
			}
		})
	}

	cred := f.sign(t)
	if _, err := Present(cred, f.issuer, f.proofAt); err == nil {
		t.Error("Present accepted a key that is not the cnf key")
	}
	if _, err := Present(cred[:len(cred)-1], f.holder, f.proofAt); !errors.Is(err, ErrFormat) {
		t.Errorf("Present of a truncated credential: %v", err)
	}
}

func TestPortraitDigest(t *testing.T) {
	img := []byte("\xff\xd8\xff\xe0 a JPEG")
	sum := sha256.Sum256(img)
	if d := PortraitDigest(img); string(d[:]) != string(sum[:16]) {
		t.Errorf("PortraitDigest = %x, want %x", d, sum[:16])
	}
}

// TestQRTextLength: QRTextLen is the length of the EP1 text Present and
// EncodeQR make, and a realistic credential (a 20-character latin name, a
// 23-character status URI) stays within spec §3's 620 characters at any
// index of a status list of 2^20 entries (the default). A change that
// grows the QR shows up here.
func TestQRTextLength(t *testing.T) {
	f := newFixture(t)
	if n := len([]rune(f.claims.Permit.LatinName)); n != 20 {
		t.Fatalf("fixture latin name has %d characters", n)
	}
	for _, c := range []struct {
		name string
		idx  uint64
	}{
		{"status idx < 24", 7},
		{"status idx < 256", 200},
		{"status idx < 65536", 40213},
		{"largest idx of 2^20", 1<<20 - 1},
	} {
		g := f
		g.claims.Status.Idx = c.idx
		pres := g.present(t)
		text := EncodeQR(pres)
		if len(text) != len(QRPrefix)+base45EncodedLen(len(pres)) || strings.Trim(text, base45Alphabet+"EP1:") != "" {
			t.Fatalf("text of %d characters for %d bytes", len(text), len(pres))
		}
		cred := p2cred(t, pres)
		if n := QRTextLen(cred); n != len(text) {
			t.Errorf("%s: QRTextLen = %d, the text has %d", c.name, n, len(text))
		}
		if len(text) > MaxQRText {
			t.Errorf("%s: EP1 text of %d characters, over spec §3's %d", c.name, len(text), MaxQRText)
		}
		t.Logf("%-20s credential %d B, presentation %d B, EP1 text %d chars", c.name, len(cred), len(pres), len(text))
	}
	// Long names and a long status URI go over, and QRTextLen tells.
	g := f
	g.claims.Permit.LatinName = "AU-YEUNG, CHRISTOPHER KA-WING ALEXANDER"
	g.claims.Status = StatusRef{Idx: 1<<20 - 1, URI: "https://epermit.immigration.example/status-lists/1234"}
	if n := QRTextLen(p2cred(t, g.present(t))); n <= MaxQRText {
		t.Errorf("a long credential: QRTextLen = %d, want over %d", n, MaxQRText)
	}
}

func p2cred(t *testing.T, pres []byte) []byte {
	cred, _ := splitPresentation(t, pres)
	return cred
}
