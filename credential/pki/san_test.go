package pki

import (
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"
)

// A request may ask for the authority's base URL as subjectAltName URI;
// the root copies it into the DS certificate, where this package, the
// standard library read it (OpenSSL too: cmd/epermit TestRootCeremonyReachesTheGate).
func TestSubjectAltNameURI(t *testing.T) {
	for _, alg := range []string{"ES256", "SM2"} {
		t.Run(alg, func(t *testing.T) {
			c := newChain(t, alg, alg)
			const base = "https://epermit.example"
			req, err := NewCSR(c.dsKey, t0.Add(time.Hour), t0.AddDate(0, 0, 90), base)
			if err != nil {
				t.Fatal(err)
			}
			csr, err := ParseCSR(req)
			if err != nil || !slices.Equal(csr.URIs, []string{base}) {
				t.Fatalf("request URIs %v, %v; want %s", csr.URIs, err, base)
			}
			der, err := IssueDocumentSigner(c.root, c.rootKey, csr, csr.UsageNotAfter.AddDate(0, 0, 30))
			if err != nil {
				t.Fatal(err)
			}
			ds, err := ParseCertificate(der)
			if err != nil || !slices.Equal(ds.URIs, []string{base}) {
				t.Fatalf("certificate URIs %v, %v; want %s", ds.URIs, err, base)
			}
			if err := ds.CheckSignatureFrom(c.root); err != nil {
				t.Fatal(err)
			}
			if alg == "ES256" {
				std, err := x509.ParseCertificate(der)
				if err != nil || len(std.URIs) != 1 || std.URIs[0].String() != base {
					t.Errorf("stdlib reads URIs %v, %v", std.URIs, err)
				}
			}
			if len(c.ds.URIs) != 0 {
				t.Errorf("a request without URIs gave a certificate with %v", c.ds.URIs)
			}
		})
	}
}

func TestSubjectAltNameRefuses(t *testing.T) {
	key := newKey(t, "ES256")
	for _, uris := range [][]string{
		{""}, {"epermit.example"}, {"ftp://epermit.example"}, {"https://"}, {"https://user@epermit.example"},
		{"https://epermit.example/é"}, {"https://a.example", "https://b.example", "https://c.example", "https://d.example", "https://e.example"},
	} {
		if _, err := NewCSR(key, t0, t0.AddDate(0, 0, 90), uris...); err == nil {
			t.Errorf("NewCSR took URIs %q", uris)
		}
	}
	// GeneralNames other than a URI (a dNSName [2]) are not of the profile.
	if _, err := parseSubjectAltName(seq(tlv(0x82, []byte("epermit.example")))); err == nil || !strings.Contains(err.Error(), "other than a URI") {
		t.Errorf("a dNSName: %v", err)
	}
	if _, err := parseSubjectAltName(seq()); err == nil {
		t.Error("an empty subjectAltName was taken")
	}
}
