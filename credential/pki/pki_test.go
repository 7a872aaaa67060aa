package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"strings"
	"testing"
	"time"

	gmsm "github.com/emmansun/gmsm/sm2"

	"github.com/epermit/epermit/credential"
	_ "github.com/epermit/epermit/credential/sm2" // these tests cover both suites
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// suiteKeys makes a fresh key of each suite.
func newKey(t testing.TB, alg string) crypto.Signer {
	t.Helper()
	switch alg {
	case "ES256":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	case "SM2":
		k, err := gmsm.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t.Fatalf("no suite %s", alg)
	return nil
}

// chain is a root and a DS certificate of one suite.
type chain struct {
	rootKey, dsKey crypto.Signer
	root, ds       *Certificate
	csr            *CSR
}

func newChain(t testing.TB, rootAlg, dsAlg string) chain {
	t.Helper()
	c := chain{rootKey: newKey(t, rootAlg), dsKey: newKey(t, dsAlg)}
	der, err := NewRoot(c.rootKey, "epermit test root", t0, t0.AddDate(20, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if c.root, err = ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	req, err := NewCSR(c.dsKey, t0.Add(time.Hour), t0.Add(time.Hour).AddDate(0, 0, 90))
	if err != nil {
		t.Fatal(err)
	}
	if c.csr, err = ParseCSR(req); err != nil {
		t.Fatal(err)
	}
	der, err = IssueDocumentSigner(c.root, c.rootKey, c.csr, c.csr.UsageNotAfter.AddDate(0, 0, 30))
	if err != nil {
		t.Fatal(err)
	}
	if c.ds, err = ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChains(t *testing.T) {
	for _, tc := range []struct{ root, ds string }{
		{"ES256", "ES256"}, {"SM2", "SM2"}, {"ES256", "SM2"}, {"SM2", "ES256"},
	} {
		t.Run(tc.root+"-"+tc.ds, func(t *testing.T) {
			c := newChain(t, tc.root, tc.ds)
			if err := c.root.CheckSignatureFrom(c.root); err != nil {
				t.Fatalf("root self-signature: %v", err)
			}
			if err := c.ds.CheckSignatureFrom(c.root); err != nil {
				t.Fatalf("DS from root: %v", err)
			}
			dsKid, _ := credential.KeyIDString(c.dsKey.Public().(*ecdsa.PublicKey))
			rootKid, _ := credential.KeyIDString(c.rootKey.Public().(*ecdsa.PublicKey))
			r, d := c.root, c.ds
			switch {
			case !r.IsCA || d.IsCA:
				t.Error("CA bits wrong")
			case r.KeyID != rootKid || d.KeyID != dsKid || c.csr.KeyID != dsKid:
				t.Error("kids wrong")
			case r.Alg != tc.root || d.Alg != tc.ds || d.SignatureAlg != tc.root || r.SignatureAlg != tc.root:
				t.Errorf("algs root %s/%s ds %s/%s", r.Alg, r.SignatureAlg, d.Alg, d.SignatureAlg)
			case r.Subject != "epermit test root" || d.Issuer != r.Subject || d.Subject != "epermit issuer key "+dsKid:
				t.Errorf("names %q %q %q", r.Subject, d.Issuer, d.Subject)
			case !d.UsageNotBefore.Equal(t0.Add(time.Hour)) || !d.UsageNotAfter.Equal(t0.Add(time.Hour).AddDate(0, 0, 90)):
				t.Errorf("usage period %v–%v", d.UsageNotBefore, d.UsageNotAfter)
			case !d.NotBefore.Equal(d.UsageNotBefore) || !d.NotAfter.Equal(d.UsageNotAfter.AddDate(0, 0, 30)):
				t.Errorf("validity %v–%v", d.NotBefore, d.NotAfter)
			case !r.UsageNotAfter.IsZero() || string(d.AuthorityKeyID) != string(r.SubjectKeyID):
				t.Error("extensions wrong")
			case len(r.Serial.Bytes()) != 16 || len(d.Serial.Bytes()) != 16:
				t.Error("serials not 16 bytes")
			}
			if !d.UsableAt(d.UsageNotAfter, 0) || d.UsableAt(d.UsageNotAfter.Add(time.Second), 0) ||
				d.UsableAt(d.UsageNotBefore.Add(-time.Second), 0) || !d.ValidAt(d.NotAfter, 0) || d.ValidAt(d.NotAfter.Add(time.Second), 0) {
				t.Error("UsableAt/ValidAt bounds wrong")
			}
			// Another root of the same name does not verify the DS.
			other := newChain(t, tc.root, tc.ds)
			if err := c.ds.CheckSignatureFrom(other.root); !errors.Is(err, ErrSignature) {
				t.Errorf("DS checked against another root: %v", err)
			}
			if err := c.ds.CheckSignatureFrom(c.ds); !errors.Is(err, ErrSignature) {
				t.Errorf("DS as its own issuer: %v", err)
			}
		})
	}
}

func TestCrossCertificate(t *testing.T) {
	for _, alg := range []string{"ES256", "SM2"} {
		t.Run(alg, func(t *testing.T) {
			old, nu := newChain(t, alg, alg), newChain(t, alg, alg)
			der, err := NewCrossCertificate(old.root, old.rootKey, nu.root, old.root.NotAfter)
			if err != nil {
				t.Fatal(err)
			}
			x, err := ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := x.CheckSignatureFrom(old.root); err != nil {
				t.Fatalf("cross from the old root: %v", err)
			}
			if !x.IsCA || x.KeyID != nu.root.KeyID || string(x.RawSubject) != string(nu.root.RawSubject) {
				t.Fatal("cross certificate is not for the new root")
			}
			// The new root's DS certificates chain to the cross certificate.
			if err := nu.ds.CheckSignatureFrom(x); err != nil {
				t.Fatalf("new DS from the cross certificate: %v", err)
			}
			if err := x.CheckSignatureFrom(nu.root); err == nil {
				t.Fatal("cross certificate verified under the new root")
			}
			if _, err := NewCrossCertificate(old.root, nu.rootKey, nu.root, old.root.NotAfter); err == nil {
				t.Fatal("cross-signed with the wrong key")
			}
			if _, err := NewCrossCertificate(old.root, old.rootKey, nu.root, old.root.NotAfter.Add(time.Second)); err == nil {
				t.Fatal("cross certificate outlives the old root")
			}
		})
	}
}

func TestIssueRefuses(t *testing.T) {
	c := newChain(t, "ES256", "ES256")
	if _, err := IssueDocumentSigner(c.root, c.dsKey, c.csr, c.csr.UsageNotAfter); err == nil {
		t.Error("issued with a key that is not the root's")
	}
	if _, err := IssueDocumentSigner(c.ds, c.dsKey, c.csr, c.csr.UsageNotAfter); err == nil {
		t.Error("issued by a DS certificate")
	}
	if _, err := IssueDocumentSigner(c.root, c.rootKey, c.csr, c.csr.UsageNotAfter.Add(-time.Second)); err == nil {
		t.Error("issued a certificate ending before the usage period")
	}
	if _, err := IssueDocumentSigner(c.root, c.rootKey, c.csr, c.root.NotAfter.Add(time.Second)); err == nil {
		t.Error("issued a certificate outliving the root")
	}
	if _, err := NewCSR(c.dsKey, t0, t0); err == nil {
		t.Error("request with an empty usage period")
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := NewRoot(p384, "x", t0, t0.Add(time.Hour)); err == nil {
		t.Error("root with a P-384 key")
	}
	if _, err := NewRoot(c.rootKey, "", t0, t0.Add(time.Hour)); err == nil {
		t.Error("root without a name")
	}
	// Validity past 2049 is GeneralizedTime and reads back.
	der, err := NewRoot(c.rootKey, "long", t0, time.Date(2060, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseCertificate(der)
	if err != nil || !r.NotAfter.Equal(time.Date(2060, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("2060 root: %v %v", r, err)
	}
}

// The parsers refuse altered encodings: a flipped byte anywhere either
// fails to parse or fails the signature check, never passes both.
func TestTamper(t *testing.T) {
	c := newChain(t, "ES256", "ES256")
	for i := range c.ds.Raw {
		b := append([]byte(nil), c.ds.Raw...)
		b[i] ^= 0x01
		d, err := ParseCertificate(b)
		if err == nil && d.CheckSignatureFrom(c.root) == nil {
			t.Fatalf("byte %d flipped: still a valid DS certificate", i)
		}
	}
	for i := range c.csr.Raw {
		b := append([]byte(nil), c.csr.Raw...)
		b[i] ^= 0x01
		if _, err := ParseCSR(b); err == nil {
			// Only a change inside the signature's integers' sign
			// handling could pass; none should.
			t.Fatalf("byte %d flipped: the request still parses", i)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	c := newChain(t, "ES256", "ES256")
	for _, tc := range []struct {
		name string
		der  []byte
		want string
	}{
		{"empty", nil, "not one DER"},
		{"trailing", append(append([]byte(nil), c.ds.Raw...), 0), "not one DER"},
		{"a request", c.csr.Raw, "malformed tbsCertificate"},
		{"huge", make([]byte, MaxCertificate+1), "over"},
	} {
		_, err := ParseCertificate(tc.der)
		if err == nil || !errors.Is(err, ErrProfile) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := ParseCSR(c.ds.Raw); err == nil {
		t.Error("a certificate parsed as a request")
	}
}

// The standard library reads our ES256 certificates and agrees with the
// signatures: an independent check of the encoding.
func TestStdlibAccepts(t *testing.T) {
	c := newChain(t, "ES256", "ES256")
	root, err := x509.ParseCertificate(c.root.Raw)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := x509.ParseCertificate(c.ds.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		t.Fatalf("stdlib: root self-signature: %v", err)
	}
	if err := ds.CheckSignatureFrom(root); err != nil {
		t.Fatalf("stdlib: DS from root: %v", err)
	}
	if !root.IsCA || !root.MaxPathLenZero || root.MaxPathLen != 0 || root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("stdlib reads the root as CA %v pathlen %d/%v usage %b", root.IsCA, root.MaxPathLen, root.MaxPathLenZero, root.KeyUsage)
	}
	if ds.IsCA || ds.KeyUsage != x509.KeyUsageDigitalSignature || string(ds.SubjectKeyId) != string(c.ds.SubjectKeyID) ||
		string(ds.AuthorityKeyId) != string(root.SubjectKeyId) || ds.Subject.CommonName != c.ds.Subject {
		t.Errorf("stdlib reads the DS differently: %+v", ds)
	}
	if !ds.NotAfter.Equal(c.ds.NotAfter) || ds.SerialNumber.Cmp(c.ds.Serial) != 0 {
		t.Error("stdlib reads other validity or serial")
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	if _, err := ds.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: c.ds.UsageNotBefore.Add(time.Hour),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("stdlib path validation: %v", err)
	}
	// And the other way: a request made by the stdlib parses here.
	k := newKey(t, "ES256")
	std, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCSR(std); err == nil || !strings.Contains(err.Error(), "privateKeyUsagePeriod") {
		t.Fatalf("a stdlib request without a usage period: %v", err)
	}
	sr, err := x509.ParseCertificateRequest(c.csr.Raw)
	if err != nil || sr.CheckSignature() != nil {
		t.Fatalf("stdlib cannot read or check our request: %v", err)
	}
}
