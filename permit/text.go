package permit

import (
	"strings"
	"unicode/utf8"
)

// IsBidiControl reports whether r is one of the Unicode bidirectional
// embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069).
// Shown as they are, they reorder the text around them, so that what an
// officer or an institution reads is not what was stored ("Trojan
// Source"): a client named "Bank\u202Eknil" displays as "Banklink".
func IsBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// CheckFreeText checks text a person typed that the system keeps and shows
// again (a client's name, an institution's stated purpose, a reason, a
// note): it must be UTF-8 and hold no bidirectional control character. It
// returns the field's problem, or nil. Lengths and other rules stay with
// each field; names in the registry keep their own rules (Person.Validate).
func CheckFreeText(field, s string) *Problem {
	switch {
	case !utf8.ValidString(s):
		return &Problem{Field: field, Code: "invalid", Reason: "must be UTF-8 text"}
	case strings.IndexFunc(s, IsBidiControl) >= 0:
		return &Problem{Field: field, Code: "invalid",
			Reason: "must not contain bidirectional control characters (U+202A to U+202E, U+2066 to U+2069)"}
	}
	return nil
}

// FreeTextError is CheckFreeText as an error: nil, or an invalid *Error
// about what with the field's problem.
func FreeTextError(what, field, s string) error {
	if p := CheckFreeText(field, s); p != nil {
		return &Error{Code: ECodeInvalid, Message: "invalid " + what, Problems: []Problem{*p}}
	}
	return nil
}
