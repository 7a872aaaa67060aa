package permit

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// mod112 computes the ISO 7064 MOD 11-2 check character the recursive way
// (p = (p+d)·2 mod 11, then the character that brings the total to 1), so it
// shares nothing with CheckCharacter's weight table and can judge it.
func mod112(digits string) string {
	p := 0
	for _, c := range digits {
		p = (p + int(c-'0')) * 2 % 11
	}
	if c := (12 - p) % 11; c < 10 {
		return string(rune('0' + c))
	}
	return "X"
}

// rpn builds a residence permit number with a correct check character.
func rpn(prefix, birth, seq string) string {
	first := prefix + birth + seq
	return first + mod112(first)
}

// problemKeys returns "field code" for every problem of err, sorted, after
// checking that err is an *Error with code invalid as Validate promises.
func problemKeys(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != ECodeInvalid {
		t.Fatalf("error %v is not an *Error with code %q", err, ECodeInvalid)
	}
	if len(e.Problems) == 0 {
		t.Fatalf("invalid error without problems: %v", err)
	}
	var keys []string
	for _, p := range e.Problems {
		keys = append(keys, p.Field+" "+p.Code)
	}
	slices.Sort(keys)
	return keys
}

func checkProblems(t *testing.T, err error, want ...string) {
	t.Helper()
	got := problemKeys(t, err)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n got  [%s]\n want [%s]\n(error: %v)", strings.Join(got, ", "), strings.Join(want, ", "), err)
	}
}

// Minimal file headers: IsImage only looks at the magic bytes.
var (
	jpegBytes = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}
	pngBytes  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
)

// validPerson is a Hong Kong man whose residence permit number is
// 810000199001010019.
func validPerson() Person {
	return Person{
		Name:      "陳大文",
		LatinName: "CHAN, TAI MAN",
		Sex:       Male,
		BirthDate: Date{1990, 1, 1},
		Region:    RegionHK,
		Phone:     "+85291234567",
		Portrait:  jpegBytes,
	}
}

func validRecord() Record {
	return Record{
		Person: validPerson(),
		TravelPermits: []TravelPermit{{
			Type: HKHomeReturnPermit, Number: "H12345678", Renewal: 2,
			IssuedOn: Date{2021, 3, 1}, ExpiresOn: Date{2031, 2, 28}, Status: StatusValid,
		}},
		ResidencePermit: &ResidencePermit{
			Number:   "810000199001010019",
			IssuedOn: Date{2022, 1, 10}, ExpiresOn: Date{2027, 1, 9}, Status: StatusValid,
		},
	}
}
