package permit

import "testing"

func TestCheckFreeText(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"Bank of Somewhere", true},
		{"開戶核實", true},
		{"line one\nline two", true},
		{"\u200Fmark\u200E", true}, // marks do not reorder: allowed
		{"Bank\u202Eknil", false},
		{"\u202Aembedded", false},
		{"pop\u202C", false},
		{"\u2066isolate\u2069", false},
		{"first strong \u2068x", false},
		{"bad \xff utf-8", false},
	}
	for _, tc := range tests {
		p := CheckFreeText("name", tc.in)
		if (p == nil) != tc.ok || (p != nil && (p.Field != "name" || p.Code != "invalid")) {
			t.Errorf("CheckFreeText(%q) = %+v; want ok %v", tc.in, p, tc.ok)
		}
	}
	if err := FreeTextError("verifier", "name", "a\u202Eb"); ErrorCode(err) != ECodeInvalid {
		t.Errorf("FreeTextError = %v", err)
	}
}
