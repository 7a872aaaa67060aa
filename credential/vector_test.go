package credential

import (
	"slices"
	"testing"
	"time"
)

// TestVectors runs spec §8's independent vector, and this package's own
// golden vector in the same shape, through parse, both signatures and the
// expected fields.
func TestVectors(t *testing.T) {
	for _, name := range []string{"ep1-good.json", "golden-ep1.json"} {
		t.Run(name, func(t *testing.T) {
			v := readVector(t, name)
			p, err := ParseQR(v.Text)
			if err != nil {
				t.Fatalf("ParseQR: %v", err)
			}
			if err := p.CheckAlgorithms(); err != nil {
				t.Fatal(err)
			}
			if err := p.VerifyIssuer(trustKey(t, v, p)); err != nil {
				t.Fatalf("issuer signature: %v", err)
			}
			if err := p.VerifyHolderProof(); err != nil {
				t.Fatalf("holder proof: %v", err)
			}
			checkExpect(t, p, v)
		})
	}
}

func checkExpect(t *testing.T, p *Presentation, v vectorFile) {
	t.Helper()
	c, e := &p.Credential.Claims, v.Expect
	scopes := make([]uint, len(c.Permit.Scopes))
	for i, s := range c.Permit.Scopes {
		scopes[i] = uint(s)
	}
	for _, f := range []struct {
		field     string
		got, want any
	}{
		{"document_number", c.Permit.DocumentNumber, e.DocumentNumber},
		{"document_type", uint(c.Permit.DocumentType), e.DocumentType},
		{"name", c.Permit.Name, e.Name},
		{"latin_name", c.Permit.LatinName, e.LatinName},
		{"sex", uint(c.Permit.Sex), e.Sex},
		{"birth_date", c.Permit.BirthDate, e.BirthDate},
		{"reason", uint(c.Permit.Reason), e.Reason},
		{"issuer", c.Issuer, e.Issuer},
		{"status_list.idx", c.Status.Idx, e.StatusList.Idx},
		{"status_list.uri", c.Status.URI, e.StatusList.URI},
	} {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.field, f.got, f.want)
		}
	}
	if !slices.Equal(scopes, e.Scopes) {
		t.Errorf("scopes = %v, want %v", scopes, e.Scopes)
	}
	// The vector is for use `train` and must be refused for `border`.
	if !c.Permit.HasScope(ScopeTrain) || c.Permit.HasScope(ScopeBorder) {
		t.Errorf("scopes %v: want train, not border", c.Permit.Scopes)
	}
	// At the vector's time the credential is valid and the proof fresh.
	at := time.Unix(v.AtUnix, 0)
	if at.Before(c.NotBefore) || !at.Before(c.Expiry) {
		t.Errorf("at %v outside [%v, %v)", at, c.NotBefore, c.Expiry)
	}
	if d := at.Sub(p.ProofIssuedAt); d > time.Minute || d < -time.Minute {
		t.Errorf("proof iat %v is %v from at", p.ProofIssuedAt, d)
	}
}

// TestVectorTampered flips one byte in each part of the vector's
// presentation: whatever still parses must fail a signature check.
func TestVectorTampered(t *testing.T) {
	v := readVector(t, "ep1-good.json")
	raw, err := DecodeBase45(v.Text[len(QRPrefix):])
	if err != nil {
		t.Fatal(err)
	}
	good, err := ParsePresentation(raw)
	if err != nil {
		t.Fatal(err)
	}
	pub := trustKey(t, v, good)
	for i := range raw {
		bad := slices.Clone(raw)
		bad[i] ^= 0x01
		p, err := ParsePresentation(bad)
		if err != nil {
			continue // a format error is a refusal too
		}
		if p.CheckAlgorithms() == nil && p.VerifyIssuer(pub) == nil && p.VerifyHolderProof() == nil &&
			slices.Equal(p.Credential.Kid, good.Credential.Kid) {
			t.Errorf("byte %d flipped: presentation still verifies", i)
		}
	}
}
