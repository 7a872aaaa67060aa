package credential

import (
	"bytes"
	"errors"
	"testing"
)

func TestBase45RFC9285Examples(t *testing.T) {
	for _, c := range []struct{ plain, enc string }{
		{"AB", "BB8"},              // RFC 9285 §4.3
		{"Hello!!", "%69 VD92EX0"}, // §4.3
		{"base-45", "UJCLQE7W581"}, // §4.3
		{"ietf!", "QED8WEX0"},      // §4.4
		{"", ""},                   //
		{"\x00", "00"},             // one byte, smallest pair
		{"\xff", "U5"},             // one byte, largest pair: 30 + 5*45 = 255
		{"\xff\xff", "FGW"},        // largest triplet: 15 + 15*45 + 32*2025 = 65535
		{"\x00\x00", "000"},        //
	} {
		if got := EncodeBase45([]byte(c.plain)); got != c.enc {
			t.Errorf("EncodeBase45(%q) = %q, want %q", c.plain, got, c.enc)
		}
		got, err := DecodeBase45(c.enc)
		if err != nil || !bytes.Equal(got, []byte(c.plain)) {
			t.Errorf("DecodeBase45(%q) = %q, %v; want %q", c.enc, got, err, c.plain)
		}
	}
}

func TestBase45Strict(t *testing.T) {
	for _, c := range []struct{ name, in string }{
		// RFC 9285 §6: "GGW" is 16 + 16*45 + 32*2025 = 65536, over 65535.
		{"triplet over 65535", "GGW"},
		{"triplet over 65535 after a good one", "BB8:::"},
		{"final pair over 255", "V5"}, // 31 + 5*45 = 256
		{"largest pair value", "::"},  // 44 + 44*45 = 2024
		{"lowercase", "bb8"},
		{"stray character", "BB8=="},
		{"stray non-ASCII", "BB\xc3\xa9"},
		{"newline", "BB8\n"},
		{"dangling single character", "BB8B"},
		{"dangling only", "A"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := DecodeBase45(c.in)
			var fe *FormatError
			if !errors.Is(err, ErrBase45) || !errors.Is(err, ErrFormat) || !errors.As(err, &fe) || fe.Check != 2 {
				t.Fatalf("DecodeBase45(%q) = %x, %v; want a check 2 ErrBase45", c.in, out, err)
			}
			if checkBase45(c.in) == nil {
				t.Errorf("checkBase45(%q) accepted it", c.in)
			}
		})
	}
}

// TestBase45AllBytes round-trips every byte value and pair boundary.
func TestBase45AllBytes(t *testing.T) {
	var src []byte
	for i := range 256 {
		src = append(src, byte(i), byte(255-i), byte(i*7))
	}
	for n := range len(src) {
		got, err := DecodeBase45(EncodeBase45(src[:n]))
		if err != nil || !bytes.Equal(got, src[:n]) {
			t.Fatalf("round trip of %d bytes failed: %v", n, err)
		}
	}
}
