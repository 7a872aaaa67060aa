package credential

import (
	"fmt"
	"strconv"
)

// base45Alphabet is RFC 9285 Table 1: exactly the QR alphanumeric-mode
// characters, which is why EP1 uses base45 and not base64.
const base45Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// base45Value maps a byte to its base45 value, or 0xff if it is not in the
// alphabet (lowercase included: RFC 9285 has no case folding).
var base45Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base45Alphabet); i++ {
		t[base45Alphabet[i]] = byte(i)
	}
	return t
}()

// EncodeBase45 returns the RFC 9285 base45 text of src.
func EncodeBase45(src []byte) string {
	return string(appendBase45(make([]byte, 0, base45EncodedLen(len(src))), src))
}

func base45EncodedLen(n int) int { return n/2*3 + n%2*2 }

func appendBase45(dst, src []byte) []byte {
	for len(src) >= 2 {
		n := int(src[0])<<8 | int(src[1])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45%45], base45Alphabet[n/2025])
		src = src[2:]
	}
	if len(src) == 1 {
		n := int(src[0])
		dst = append(dst, base45Alphabet[n%45], base45Alphabet[n/45])
	}
	return dst
}

// DecodeBase45 decodes RFC 9285 base45 strictly: a character outside the
// alphabet, a triplet over 65535, a final pair over 255 or a dangling single
// character is an error (a *FormatError of kind ErrBase45), never silently
// repaired, because a lenient decoder gives one QR many spellings.
func DecodeBase45(s string) ([]byte, error) {
	return decodeBase45(make([]byte, 0, base45DecodedLen(len(s))), s)
}

func base45DecodedLen(n int) int { return n/3*2 + n%3/2 }

// decodeBase45 appends the decoding of s to dst, reporting the leftmost
// error first.
func decodeBase45(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i += 3 {
		if i+1 == len(s) {
			return nil, base45Err(i, "dangling single character")
		}
		c, d := base45Value[s[i]], base45Value[s[i+1]]
		if c == 0xff {
			return nil, base45Char(s, i)
		}
		if d == 0xff {
			return nil, base45Char(s, i+1)
		}
		if i+2 == len(s) {
			n := int(c) + int(d)*45
			if n > 0xff {
				return nil, base45Err(i, fmt.Sprintf("final pair %q is %d, over 255", s[i:], n))
			}
			return append(dst, byte(n)), nil
		}
		e := base45Value[s[i+2]]
		if e == 0xff {
			return nil, base45Char(s, i+2)
		}
		n := int(c) + int(d)*45 + int(e)*2025
		if n > 0xffff {
			return nil, base45Err(i, fmt.Sprintf("triplet %q is %d, over 65535", s[i:i+3], n))
		}
		dst = append(dst, byte(n>>8), byte(n))
	}
	return dst, nil
}

// checkBase45 validates s like decodeBase45 without producing output, so an
// oversized QR text is still checked in spec §4 order (base45 before size)
// without allocating for it.
func checkBase45(s string) error {
	for i := 0; i < len(s); i += 3 {
		if i+1 == len(s) {
			return base45Err(i, "dangling single character")
		}
		c, d := base45Value[s[i]], base45Value[s[i+1]]
		if c == 0xff {
			return base45Char(s, i)
		}
		if d == 0xff {
			return base45Char(s, i+1)
		}
		if i+2 == len(s) {
			if int(c)+int(d)*45 > 0xff {
				return base45Err(i, "final pair over 255")
			}
			return nil
		}
		e := base45Value[s[i+2]]
		if e == 0xff {
			return base45Char(s, i+2)
		}
		if int(c)+int(d)*45+int(e)*2025 > 0xffff {
			return base45Err(i, "triplet over 65535")
		}
	}
	return nil
}

func base45Err(pos int, msg string) error {
	return formatErr(2, ErrBase45, msg+" at offset "+strconv.Itoa(pos))
}

func base45Char(s string, pos int) error {
	return base45Err(pos, fmt.Sprintf("character %q not in the base45 alphabet", s[pos]))
}
