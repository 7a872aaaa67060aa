package credential

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

var (
	keyIss    = []byte{0x01}
	keyExp    = []byte{0x04}
	keyCTI    = []byte{0x07}
	keyCnf    = []byte{0x08}
	keyStatus = []byte{0x19, 0xff, 0xff}
	keyPermit = []byte{0x3a, 0x00, 0x01, 0x11, 0x70}
	keyName   = []byte{0x04} // in the permit map
	unknown   = cborInt(99)
)

// splitPresentation returns the credential and proof byte strings.
func splitPresentation(t testing.TB, pres []byte) (cred, proof []byte) {
	t.Helper()
	r := cborReader{b: pres}
	if _, err := r.readArray(); err != nil {
		t.Fatal(err)
	}
	cred, _ = r.readBytes()
	proof, _ = r.readBytes()
	return cred, proof
}

func joinPresentation(cred, proof []byte) []byte {
	return appendBytes(appendBytes([]byte{0x82}, cred), proof)
}

// withClaims edits the claims map of p.
func withClaims(t testing.TB, p parts, edit func([]rawEntry) []rawEntry) parts {
	p.payload = rawMap(edit(rawEntries(t, p.payload)))
	return p
}

// withPermit edits the permit map of p.
func withPermit(t testing.TB, p parts, edit func([]rawEntry) []rawEntry) parts {
	return withClaims(t, p, func(es []rawEntry) []rawEntry {
		permit := rawMap(edit(rawEntries(t, entry(t, es, keyPermit))))
		return replace(es, keyPermit, permit)
	})
}

func nested(depth int) []byte {
	return append(bytes.Repeat([]byte{0x81}, depth), 0x00)
}

// TestStrictness feeds presentations with exactly one defect each; every
// one must be a *FormatError of the right kind, through ParsePresentation
// and through ParseQR.
func TestStrictness(t *testing.T) {
	f := newFixture(t)
	good := f.parts(t)
	cases := []struct {
		name  string
		build func(t testing.TB) []byte
		kind  error
	}{
		{"indefinite presentation array", func(t testing.TB) []byte {
			pres := f.presentation(t, good)
			return append(append([]byte{0x9f}, pres[1:]...), 0xff)
		}, ErrIndefiniteLength},
		{"indefinite credential byte string", func(t testing.TB) []byte {
			cred, proof := splitPresentation(t, f.presentation(t, good))
			b := append([]byte{0x82, 0x5f}, appendBytes(nil, cred)...)
			return appendBytes(append(b, 0xff), proof)
		}, ErrIndefiniteLength},
		{"indefinite permit map", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				v := entry(t, es, keyPermit)
				return replace(es, keyPermit, append(append([]byte{0xbf}, v[1:]...), 0xff))
			}))
		}, ErrIndefiniteLength},
		{"indefinite name text", func(t testing.TB) []byte {
			return f.presentation(t, withPermit(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyName, append(append([]byte{0x7f}, entry(t, es, keyName)...), 0xff))
			}))
		}, ErrIndefiniteLength},
		{"duplicate claim", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{keyIss, appendText(nil, "XX")})
			}))
		}, ErrDuplicateKey},
		{"duplicate claim, second key in a longer encoding", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{[]byte{0x18, 0x01}, appendText(nil, "XX")})
			}))
		}, ErrDuplicateKey},
		{"duplicate permit field", func(t testing.TB) []byte {
			return f.presentation(t, withPermit(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{keyName, appendText(nil, "李")})
			}))
		}, ErrDuplicateKey},
		{"duplicate key in an unknown claim", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{unknown, []byte{0xa2, 0x01, 0x01, 0x01, 0x02}})
			}))
		}, ErrDuplicateKey},
		{"duplicate text key in status", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				sl := rawEntries(t, entry(t, es, keyStatus))[0]
				return replace(es, keyStatus, rawMap([]rawEntry{sl, sl}))
			}))
		}, ErrDuplicateKey},
		{"duplicate protected header", func(t testing.TB) []byte {
			p := good
			p.credProtected = []byte{0xa2, 0x01, 0x26, 0x01, 0x26}
			return f.presentation(t, p)
		}, ErrDuplicateKey},
		{"duplicate unprotected header", func(t testing.TB) []byte {
			p := good
			kid := appendBytes([]byte{0x04}, f.kid)
			p.credUnprotected = append(append([]byte{0xa2}, kid...), kid...)
			return f.presentation(t, p)
		}, ErrDuplicateKey},
		{"duplicate claim in the proof header", func(t testing.TB) []byte {
			p := good
			iat := appendInt(cborInt(claimIAT), f.proofAt.Unix())
			p.proofProtected = append(append([]byte{0xa2, 0x01, 0x26, 0x0f, 0xa2}, iat...), iat...)
			return f.presentation(t, p)
		}, ErrDuplicateKey},
		{"nesting 9 in the claims", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{unknown, nested(8)}) // claims map + 8 arrays
			}))
		}, ErrTooDeep},
		{"nesting 9 in the proof header", func(t testing.TB) []byte {
			p := good
			iat := appendInt(cborInt(claimIAT), f.proofAt.Unix())
			p.proofProtected = append([]byte{0xa2, 0x01, 0x26, 0x0f, 0xa2}, iat...)
			p.proofProtected = append(append(p.proofProtected, unknown...), nested(7)...) // 2 maps + 7 arrays
			return f.presentation(t, p)
		}, ErrTooDeep},
		{"over 2048 bytes", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{unknown, appendBytes(nil, make([]byte, 1700))})
			}))
		}, ErrTooLong},
		{"trailing byte after the presentation", func(t testing.TB) []byte {
			return append(f.presentation(t, good), 0x00)
		}, ErrCBOR},
		{"trailing byte after the claims", func(t testing.TB) []byte {
			p := good
			p.payload = append(slices.Clone(p.payload), 0x00)
			return f.presentation(t, p)
		}, ErrCBOR},
		{"presentation of three", func(t testing.TB) []byte {
			pres := f.presentation(t, good)
			return append(append([]byte{0x83}, pres[1:]...), 0x40)
		}, ErrCBOR},
		{"untagged credential", func(t testing.TB) []byte {
			cred, proof := splitPresentation(t, f.presentation(t, good))
			return joinPresentation(cred[1:], proof)
		}, ErrCBOR},
		{"credential in a CWT tag", func(t testing.TB) []byte {
			cred, proof := splitPresentation(t, f.presentation(t, good))
			return joinPresentation(append([]byte{0xd8, 0x3d}, cred...), proof)
		}, ErrCBOR},
		{"array as map key", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{[]byte{0x80}, []byte{0x00}})
			}))
		}, ErrCBOR},
		{"reserved additional information", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{unknown, []byte{0x1c}})
			}))
		}, ErrCBOR},
		{"simple value under 32 in two bytes", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{unknown, []byte{0xf8, 0x10}})
			}))
		}, ErrCBOR},
		{"stray break", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{unknown, []byte{0xff}})
			}))
		}, ErrCBOR},
		{"map count beyond the data", func(t testing.TB) []byte {
			p := good
			p.payload = append([]byte{0xb9, 0xff, 0xff}, p.payload[1:]...)
			return f.presentation(t, p)
		}, ErrCBOR},
		{"byte string length beyond the data", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return append(es, rawEntry{unknown, []byte{0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}})
			}))
		}, ErrCBOR},
		{"name not UTF-8", func(t testing.TB) []byte {
			return f.presentation(t, withPermit(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyName, []byte{0x62, 0xc3, 0x28})
			}))
		}, ErrCBOR},
		{"exp missing", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyExp, nil)
			}))
		}, ErrCBOR},
		{"permit name missing", func(t testing.TB) []byte {
			return f.presentation(t, withPermit(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyName, nil)
			}))
		}, ErrCBOR},
		{"exp a float", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyExp, []byte{0xfb, 0x41, 0xda, 0xcf, 0xb5, 0x60, 0x00, 0x00, 0x00})
			}))
		}, ErrCBOR},
		{"exp below int64", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyExp, []byte{0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
			}))
		}, ErrCBOR},
		{"cti of 15 bytes", func(t testing.TB) []byte {
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyCTI, appendBytes(nil, make([]byte, 15)))
			}))
		}, ErrCBOR},
		{"cnf point not on the curve", func(t testing.TB) []byte {
			pt, _ := f.holder.PublicKey.Bytes()
			pt[64] ^= 1
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyCnf, coseKey(pt[1:33], appendBytes(nil, pt[33:])))
			}))
		}, ErrCBOR},
		// x = 1 has no y on P-256 (1 - 3 + b is not a square mod p), so
		// neither sign bit can be decompressed.
		{"compressed cnf x with no point", func(t testing.TB) []byte {
			x := make([]byte, 32)
			x[31] = 1
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyCnf, coseKey(x, []byte{0xf5}))
			}))
		}, ErrCBOR},
		{"compressed cnf x not below p", func(t testing.TB) []byte {
			x := bytes.Repeat([]byte{0xff}, 32)
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyCnf, coseKey(x, []byte{0xf4}))
			}))
		}, ErrCBOR},
		{"cnf y neither bytes nor bool", func(t testing.TB) []byte {
			pt, _ := f.holder.PublicKey.Bytes()
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyCnf, coseKey(pt[1:33], []byte{0xf6})) // null
			}))
		}, ErrCBOR},
		{"cnf of another curve", func(t testing.TB) []byte {
			pt, _ := f.holder.PublicKey.Bytes()
			k := coseKey(pt[1:33], appendBytes(nil, pt[33:]))
			k[bytes.Index(k, []byte{0x20, 0x01})+1] = 0x02 // crv P-384
			return f.presentation(t, withClaims(t, good, func(es []rawEntry) []rawEntry {
				return replace(es, keyCnf, k)
			}))
		}, ErrCBOR},
		{"critical header", func(t testing.TB) []byte {
			p := good
			p.credProtected = []byte{0xa2, 0x01, 0x26, 0x02, 0x81, 0x01}
			return f.presentation(t, p)
		}, ErrCBOR},
		{"alg in the unprotected header", func(t testing.TB) []byte {
			p := good
			p.credUnprotected = appendBytes([]byte{0xa2, 0x01, 0x26, 0x04}, f.kid)
			return f.presentation(t, p)
		}, ErrCBOR},
		{"proof payload attached", func(t testing.TB) []byte {
			p := good
			p.proofPayload = appendBytes(nil, make([]byte, 32))
			return f.presentation(t, p)
		}, ErrCBOR},
		{"proof without iat", func(t testing.TB) []byte {
			p := good
			p.proofProtected = []byte{0xa1, 0x01, 0x26}
			return f.presentation(t, p)
		}, ErrCBOR},
		{"empty", func(t testing.TB) []byte { return nil }, ErrCBOR},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.build(t)
			p, err := ParsePresentation(b)
			checkFormat(t, "ParsePresentation", p, err, 3, c.kind)
			p, err = ParseQR(EncodeQR(b))
			checkFormat(t, "ParseQR", p, err, 3, c.kind)
		})
	}
}

func checkFormat(t *testing.T, fn string, p *Presentation, err error, check int, kind error) {
	t.Helper()
	var fe *FormatError
	if !errors.Is(err, ErrFormat) || !errors.Is(err, kind) || !errors.As(err, &fe) || fe.Check != check {
		t.Fatalf("%s: got %v, want check %d %v", fn, err, check, kind)
	}
	if p != nil {
		t.Fatalf("%s: returned a presentation with an error", fn)
	}
}

// coseKey encodes cnf {1: {1: 2, -1: 1, -2: x, -3: y}} with y given encoded.
func coseKey(x, y []byte) []byte {
	b := []byte{0xa1, 0x01, 0xa4, 0x01, 0x02, 0x20, 0x01, 0x21}
	b = appendBytes(b, x)
	return append(append(b, 0x22), y...)
}

// TestQRTextChecks covers checks 1 and 2 and the size bound on the text.
func TestQRTextChecks(t *testing.T) {
	f := newFixture(t)
	text := EncodeQR(f.present(t))
	body := text[len(QRPrefix):]
	big := EncodeBase45(make([]byte, maxCBORSize+1))
	for _, c := range []struct {
		name, text string
		check      int
		kind       error
	}{
		{"no prefix", body, 1, ErrPrefix},
		{"lowercase prefix", "ep1:" + body, 1, ErrPrefix},
		{"next version", "EP2:" + body, 1, ErrPrefix},
		{"leading space", " " + text, 1, ErrPrefix},
		{"empty", "", 1, ErrPrefix},
		{"lowercase body", QRPrefix + strings.ToLower(body), 2, ErrBase45},
		{"triplet over 65535", QRPrefix + "GGW" + body[3:], 2, ErrBase45},
		{"dangling character", QRPrefix + body[:len(body)/3*3] + "0", 2, ErrBase45},
		{"trailing newline", text + "\n", 2, ErrBase45},
		{"empty body", QRPrefix, 3, ErrCBOR},
		{"2049 bytes", QRPrefix + big, 3, ErrTooLong},
		{"2049 bytes with a stray character", QRPrefix + big[:len(big)-1] + "=", 2, ErrBase45},
		{"huge", QRPrefix + strings.Repeat("000", 1<<16), 3, ErrTooLong},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParseQR(c.text)
			checkFormat(t, "ParseQR", p, err, c.check, c.kind)
		})
	}
	// Exactly 2048 bytes passes check 3's size rule (and fails later, as
	// zeros are no presentation).
	_, err := ParseQR(QRPrefix + EncodeBase45(make([]byte, maxCBORSize)))
	if errors.Is(err, ErrTooLong) {
		t.Errorf("2048 bytes refused as too long")
	}
}

// TestLenient lists what the parser accepts on purpose, and how the
// result fails later where the spec gives it a code other than format.
func TestLenient(t *testing.T) {
	f := newFixture(t)
	good := f.parts(t)
	pt, _ := f.holder.PublicKey.Bytes()
	cases := []struct {
		name     string
		parts    parts
		algErr   bool // CheckAlgorithms must say ErrAlgorithm
		noKid    bool
		checkOut func(t *testing.T, p *Presentation)
	}{
		{name: "as issued", parts: good},
		{name: "unknown claims are ignored", parts: withClaims(t, good, func(es []rawEntry) []rawEntry {
			v := []byte{0xa1, 0x61, 'a', 0x82, 0x01, 0xa1, 0x02, 0x40}
			return append(es, rawEntry{unknown, v}, rawEntry{appendText(nil, "x"), []byte{0xf5}})
		})},
		{name: "unknown permit field is ignored", parts: withPermit(t, good, func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{cborInt(11), appendText(nil, "future")})
		})},
		{name: "nesting of exactly 8", parts: withClaims(t, good, func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{unknown, nested(7)})
		})},
		{name: "uncompressed cnf y", parts: withClaims(t, good, func(es []rawEntry) []rawEntry {
			return replace(es, keyCnf, coseKey(pt[1:33], appendBytes(nil, pt[33:])))
		})},
		{name: "longer integer encodings", parts: withClaims(t, good, func(es []rawEntry) []rawEntry {
			exp := f.claims.Expiry.Unix()
			v := []byte{0x1b, 0, 0, 0, 0, byte(exp >> 24), byte(exp >> 16), byte(exp >> 8), byte(exp)}
			return replace(es, keyExp, v)
		}), checkOut: func(t *testing.T, p *Presentation) {
			if !p.Credential.Claims.Expiry.Equal(f.claims.Expiry) {
				t.Errorf("exp = %v", p.Credential.Claims.Expiry)
			}
		}},
		{name: "alg as text", parts: func() parts {
			p := good
			p.credProtected = append([]byte{0xa1, 0x01}, appendText(nil, "ES256")...)
			return p
		}(), algErr: true},
		{name: "alg ES384", parts: func() parts {
			p := good
			p.proofProtected = append([]byte{0xa2, 0x01, 0x38, 0x22}, good.proofProtected[3:]...)
			return p
		}(), algErr: true},
		{name: "empty protected header", parts: func() parts {
			p := good
			p.credProtected = nil
			return p
		}(), algErr: true},
		{name: "no kid", parts: func() parts {
			p := good
			p.credUnprotected = []byte{0xa0}
			return p
		}(), noKid: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParseQR(EncodeQR(f.presentation(t, c.parts)))
			if err != nil {
				t.Fatal(err)
			}
			if (p.Credential.Kid == nil) != c.noKid {
				t.Errorf("kid = %x", p.Credential.Kid)
			}
			if c.algErr {
				if !errors.Is(p.CheckAlgorithms(), ErrAlgorithm) {
					t.Errorf("CheckAlgorithms = %v", p.CheckAlgorithms())
				}
				issuer, holder := p.VerifyIssuer(&f.issuer.PublicKey), p.VerifyHolderProof()
				if !errors.Is(issuer, ErrAlgorithm) && !errors.Is(holder, ErrAlgorithm) {
					t.Errorf("verify = %v, %v; want an ErrAlgorithm", issuer, holder)
				}
				return
			}
			if err := p.CheckAlgorithms(); err != nil {
				t.Error(err)
			}
			if err := p.VerifyIssuer(&f.issuer.PublicKey); err != nil {
				t.Error(err)
			}
			if err := p.VerifyHolderProof(); err != nil {
				t.Error(err)
			}
			if !p.Credential.Claims.Holder.Equal(&f.holder.PublicKey) {
				t.Error("holder key differs")
			}
			if c.checkOut != nil {
				c.checkOut(t, p)
			}
		})
	}
}
