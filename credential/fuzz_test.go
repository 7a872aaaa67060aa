package credential

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzSeeds returns valid inputs to mutate: the spec vector and our golden
// vector as QR text.
func fuzzSeeds(t testing.TB) []string {
	return []string{readVector(t, "ep1-good.json").Text, readVector(t, "golden-ep1.json").Text}
}

// exercise runs everything a verifier would on an accepted presentation:
// nothing may panic on any input that parses.
func exercise(p *Presentation) {
	_ = p.CheckAlgorithms()
	_ = p.VerifyIssuer(p.Credential.Claims.Holder) // any P-256 key will do
	_ = p.VerifyHolderProof()
	_ = p.Credential.KidText()
	_ = p.Credential.Claims.Permit.HasScope(ScopeTrain)
}

func FuzzParseQR(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
		f.Add(s[:len(s)/2])
	}
	for _, s := range []string{"", "EP1:", "EP1:GGW", "EP1:A", "ep1:00", "EP1:%69 VD92EX0", "HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParseQR(text)
		if err != nil {
			var fe *FormatError
			if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) || fe.Check < 1 || fe.Check > 3 {
				t.Fatalf("error is not a format error: %v", err)
			}
			if p != nil {
				t.Fatal("presentation returned with an error")
			}
			return
		}
		exercise(p)
		// Strict base45 has one spelling per byte string: the text must be
		// exactly what our encoder makes of the bytes.
		raw, err := DecodeBase45(text[len(QRPrefix):])
		if err != nil || EncodeQR(raw) != text {
			t.Fatalf("accepted text is not canonical: %v", err)
		}
		if len(raw) > maxCBORSize {
			t.Fatalf("accepted %d bytes", len(raw))
		}
	})
}

func FuzzDecodeBase45(f *testing.F) {
	for _, s := range []string{"", "BB8", "%69 VD92EX0", "UJCLQE7W581", "QED8WEX0", "GGW", "FGW", "U5", "V5", "A", "bb8", "BB8=", "::::"} {
		f.Add(s)
	}
	f.Add(fuzzSeeds(f)[0][len(QRPrefix):])
	f.Fuzz(func(t *testing.T, s string) {
		out, err := DecodeBase45(s)
		if err != nil {
			if !errors.Is(err, ErrBase45) || !errors.Is(err, ErrFormat) {
				t.Fatalf("error is not ErrBase45: %v", err)
			}
			if checkBase45(s) == nil {
				t.Fatalf("checkBase45 accepts what DecodeBase45 refuses: %v", err)
			}
			return
		}
		if checkBase45(s) != nil {
			t.Fatal("checkBase45 refuses what DecodeBase45 accepts")
		}
		if len(out) != base45DecodedLen(len(s)) {
			t.Fatalf("decoded %d bytes from %d characters", len(out), len(s))
		}
		if enc := EncodeBase45(out); enc != s {
			t.Fatalf("round trip: %q -> %x -> %q", s, out, enc)
		}
		// And the other direction, with the input as bytes.
		back, err := DecodeBase45(EncodeBase45([]byte(s)))
		if err != nil || !bytes.Equal(back, []byte(s)) {
			t.Fatalf("encode/decode of %q failed: %v", s, err)
		}
	})
}

func FuzzParseEPermit(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		raw, err := DecodeBase45(s[len(QRPrefix):])
		if err != nil {
			f.Fatal(err)
		}
		cred, _ := splitPresentation(f, raw)
		f.Add(cred)
		f.Add(raw) // a presentation, not a credential
	}
	for _, b := range [][]byte{nil, {0xd2}, {0xd2, 0x84}, {0xd2, 0x9f, 0xff}, {0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40}, {0xff}, {0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEPermit(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error is not a format error: %v", err)
			}
			return
		}
		_ = e.VerifySignature(e.Claims.Holder)
		_ = e.KidText()
		// Whatever we accept, fxamacker/cbor with the same strictness
		// options must find well-formed too.
		if err := strictDecMode.Wellformed(b); err != nil {
			t.Fatalf("accepted, but fxamacker/cbor says: %v", err)
		}
		if err := strictDecMode.Wellformed(e.payload); err != nil {
			t.Fatalf("accepted payload, but fxamacker/cbor says: %v", err)
		}
		var v any
		if err := strictDecMode.Unmarshal(e.payload, &v); err != nil {
			t.Fatalf("accepted payload, but fxamacker/cbor refuses to decode it: %v", err)
		}
	})
}
