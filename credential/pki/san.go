package pki

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// The subjectAltName of a document-signer certificate (RFC 5280 §4.2.1.6,
// non-critical): the authority's base URL as a uniformResourceIdentifier.
// An SD-JWT VC verifier that resolves the issuer key from x5c (HAIP) takes
// the credential's iss only when the leaf certificate names it so; the
// serving side asks for it in its request, the root copies it.
var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// tagURI is GeneralName's uniformResourceIdentifier: [6] IMPLICIT IA5String.
const tagURI = 0x86

// MaxURIs bounds the URIs a request may ask for.
const MaxURIs = 4

// checkURIs accepts absolute http(s) URLs in ASCII, at most MaxURIs.
func checkURIs(uris []string) error {
	if len(uris) > MaxURIs {
		return fmt.Errorf("pki: more than %d subjectAltName URIs", MaxURIs)
	}
	for _, s := range uris {
		// An absolute http(s) URL with a host and no user part (the package
		// does no I/O, so no net/url: the form is simple enough).
		rest, ok := strings.CutPrefix(s, "https://")
		if !ok {
			rest, ok = strings.CutPrefix(s, "http://")
		}
		host, _, _ := strings.Cut(rest, "/")
		if !ok || host == "" || strings.ContainsAny(host, "@?#") || len(s) > 2048 {
			return fmt.Errorf("pki: subjectAltName URI %q is not an http(s) URL", s)
		}
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				return fmt.Errorf("pki: subjectAltName URI %q is not printable ASCII", s)
			}
		}
	}
	return nil
}

// subjectAltNameExt is the extension naming uris.
func subjectAltNameExt(uris []string) []byte {
	names := make([][]byte, len(uris))
	for i, u := range uris {
		names[i] = tlv(tagURI, []byte(u))
	}
	return newExtension(oidSubjectAltName, false, seq(names...))
}

// parseSubjectAltName reads GeneralNames holding only URIs, as the profile
// makes them.
func parseSubjectAltName(value []byte) ([]string, error) {
	var names []asn1.RawValue
	if rest, err := asn1.Unmarshal(value, &names); err != nil || len(rest) != 0 || len(names) == 0 {
		return nil, errors.New("subjectAltName is malformed")
	}
	uris := make([]string, 0, len(names))
	for _, n := range names {
		if n.Class != asn1.ClassContextSpecific || n.Tag != 6 || n.IsCompound {
			return nil, errors.New("subjectAltName holds a name other than a URI")
		}
		uris = append(uris, string(n.Bytes))
	}
	if err := checkURIs(uris); err != nil {
		return nil, err
	}
	return uris, nil
}
