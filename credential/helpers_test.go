package credential

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// vectorFile is the shape of spec/vectors/ep1-good.json, which the golden
// files of this package reuse so that other implementations can read them.
type vectorFile struct {
	Description string          `json:"description"`
	At          string          `json:"at"`
	AtUnix      int64           `json:"at_unix"`
	Use         string          `json:"use"`
	JWKS        json.RawMessage `json:"jwks"`
	Text        string          `json:"text"`
	Expect      vectorExpect    `json:"expect"`
}

type vectorExpect struct {
	Decision       string `json:"decision"`
	DocumentNumber string `json:"document_number"`
	DocumentType   uint   `json:"document_type"`
	Name           string `json:"name"`
	LatinName      string `json:"latin_name"`
	Sex            uint   `json:"sex"`
	BirthDate      string `json:"birth_date"`
	Scopes         []uint `json:"scopes"`
	Reason         uint   `json:"reason"`
	Issuer         string `json:"issuer"`
	StatusList     struct {
		Idx uint64 `json:"idx"`
		URI string `json:"uri"`
	} `json:"status_list"`
}

func readVector(t testing.TB, name string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// trustKey returns the key of a vector's trust list for the credential's kid.
func trustKey(t testing.TB, v vectorFile, p *Presentation) *ecdsa.PublicKey {
	t.Helper()
	keys, err := ParseJWKSet(v.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := keys[p.Credential.KidText()]
	if !ok {
		t.Fatalf("kid %s not in the trust list", p.Credential.KidText())
	}
	return pub
}

// loadKey reads a PKCS#8 private key and checks it against its SPKI public
// key file, so a mismatched fixture pair fails loudly.
func loadKey(t testing.TB, name string) *ecdsa.PrivateKey {
	t.Helper()
	priv := pemBlock(t, name+"-key.pem", "PRIVATE KEY")
	k, err := x509.ParsePKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("%s: not an ECDSA key", name)
	}
	pub, err := x509.ParsePKIXPublicKey(pemBlock(t, name+"-pub.pem", "PUBLIC KEY"))
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(pub) {
		t.Fatalf("%s: private and public key files do not match", name)
	}
	return key
}

func pemBlock(t testing.TB, file, typ string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != typ {
		t.Fatalf("%s: no %s PEM block", file, typ)
	}
	return blk.Bytes
}

// fixture is a deterministic credential: fixed keys, times, cti and data.
type fixture struct {
	issuer, holder *ecdsa.PrivateKey
	kid            []byte
	claims         Claims
	proofAt        time.Time
}

var fixtureIssued = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

func newFixture(t testing.TB) fixture {
	t.Helper()
	f := fixture{issuer: loadKey(t, "issuer"), holder: loadKey(t, "holder")}
	var err error
	if f.kid, err = KeyID(&f.issuer.PublicKey); err != nil {
		t.Fatal(err)
	}
	f.claims = Claims{
		Issuer:    "CN-NIA",
		IssuedAt:  fixtureIssued,
		NotBefore: fixtureIssued,
		Expiry:    fixtureIssued.Add(7 * 24 * time.Hour),
		ID:        [16]byte{0x5e, 0x9c, 0x41, 0x0b, 0x2d, 0x77, 0x4a, 0x13, 0x8f, 0x60, 0xa2, 0x3c, 0xd1, 0x0e, 0x94, 0x27},
		Holder:    &f.holder.PublicKey,
		Status:    StatusRef{Idx: 40213, URI: "https://ep.example/s/12"},
		Permit: Permit{
			Kind:           KindTemporaryEPermit,
			DocumentType:   DocHomeReturnPermitHK,
			DocumentNumber: "H12345678",
			Name:           "陳大文",
			LatinName:      "CHEUNG, KA WAI DAVID", // 20 characters
			Sex:            SexMale,
			BirthDate:      "1990-01-01",
			Scopes:         []Scope{ScopeFlight, ScopeTrain},
			PortraitDigest: PortraitDigest([]byte("portrait fixture")),
			Reason:         ReasonForgotten,
		},
	}
	f.proofAt = fixtureIssued.Add(90 * time.Minute)
	return f
}

func (f fixture) sign(t testing.TB) []byte {
	t.Helper()
	cred, err := SignEPermit(f.claims, f.kid, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func (f fixture) present(t testing.TB) []byte {
	t.Helper()
	p, err := Present(f.sign(t), f.holder, f.proofAt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
