package pki

import (
	"testing"
	"time"
)

// Parsers of outside input never panic, and what they accept holds
// together: a certificate's kid is its key's, a request's signature
// verified, a list's keys match their certificates.

func FuzzParseCertificate(f *testing.F) {
	c := newChain(f, "ES256", "SM2")
	f.Add(c.root.Raw)
	f.Add(c.ds.Raw)
	f.Add(c.csr.Raw)
	f.Fuzz(func(t *testing.T, der []byte) {
		cert, err := ParseCertificate(der)
		if err != nil {
			return
		}
		if cert.PublicKey == nil || cert.KeyID == "" || len(cert.SubjectKeyID) != 8 {
			t.Fatalf("accepted a certificate without key or kid: %+v", cert)
		}
		_ = cert.CheckSignatureFrom(c.root)
	})
}

func FuzzParseCSR(f *testing.F) {
	c := newChain(f, "SM2", "ES256")
	f.Add(c.csr.Raw)
	f.Add(c.ds.Raw)
	f.Fuzz(func(t *testing.T, der []byte) {
		r, err := ParseCSR(der)
		if err != nil {
			return
		}
		if r.PublicKey == nil || r.UsageNotBefore.IsZero() || r.UsageNotAfter.Before(r.UsageNotBefore) {
			t.Fatalf("accepted a request without key or usage period: %+v", r)
		}
	})
}

func FuzzParseTrustList(f *testing.F) {
	c := newChain(f, "ES256", "ES256")
	list, err := SignTrustList(TrustListClaims{Issuer: "https://x", Seq: 1, IssuedAt: t0, Expiry: t0.Add(time.Hour),
		Certificates: [][]byte{c.ds.Raw}, Revoked: []RevokedKey{{Kid: "k", RevokedAt: t0}}}, c.root, c.rootKey, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(list))
	f.Add([]byte("a.b.c"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseTrustList(data)
		if err != nil {
			return
		}
		for _, k := range l.Keys {
			if k.Certificate.KeyID != k.JWK.Kid || k.Certificate.IsCA {
				t.Fatalf("accepted key %s with certificate for %s", k.JWK.Kid, k.Certificate.KeyID)
			}
		}
		_, _ = l.Verify(t0, 0, c.root)
	})
}
