package credential

import (
	"strings"
	"testing"
)

// JOSE and JWT member names are case-sensitive: a member that encoding/json
// would take for a known one only because case is ignored is refused, while
// unknown members are left alone, as a verifier following the spec would.
func TestExactNames(t *testing.T) {
	type claims struct {
		Status struct {
			StatusList struct {
				Idx uint64 `json:"idx"`
			} `json:"status_list"`
		} `json:"status"`
		Sd []string `json:"_sd"`
	}
	for _, tc := range []struct {
		name, json string
		v          any
		wantErr    string // "" for accepted
	}{
		{"header as spelled", `{"alg":"ES256","typ":"kb+jwt"}`, &jwsHeader{}, ""},
		{"header in capitals", `{"ALG":"ES256","TYP":"kb+jwt"}`, &jwsHeader{}, `"ALG"`},
		{"one name capitalised", `{"alg":"ES256","Typ":"kb+jwt"}`, &jwsHeader{}, `"Typ"`},
		{"unknown members", `{"alg":"ES256","X-Extra":1,"ALGORITHM":2}`, &jwsHeader{}, ""},
		{"nested", `{"status":{"Status_List":{"idx":1}}}`, &claims{}, `"Status_List"`},
		{"deeper", `{"status":{"status_list":{"IDX":1}}}`, &claims{}, `"IDX"`},
		{"in an array of objects", `{"keys":[{"kty":"EC"},{"KTY":"EC"}]}`, &JWKSet{}, `"KTY"`},
		{"set as spelled", `{"keys":[{"kty":"EC","crv":"P-256"}]}`, &JWKSet{}, ""},
		{"wrong types are json's to report", `{"status":[1,2]}`, &claims{}, ""},
		{"a capital behind an escape", `{"\u0041LG":"ES256"}`, &jwsHeader{}, `"ALG"`},
		{"an escape that spells the name", `{"\u0061lg":"ES256"}`, &jwsHeader{}, ""},
		{"the Kelvin sign folds to k", "{\"\u212aid\":\"x\"}", &jwsHeader{}, `must be spelled "kid"`},
	} {
		err := exactNames([]byte(tc.json), tc.v)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.wantErr)
		}
	}
}

// Only names are scanned for capitals: values may have them, and then the
// document is decoded once.
func TestSuspectName(t *testing.T) {
	for _, tc := range []struct {
		json string
		want bool
	}{
		{`{"alg":"ES256","kid":"uaRWTrTfbG8"}`, false},
		{`{"alg" : "ES256", "typ":"kb+jwt"}`, false},
		{`{"a\"B":1}`, true},
		{`{"Alg":"ES256"}`, true},
		{`{"alg" :"x","lst":["A:B"]}`, false},
		{`{"\u0061lg":"ES256"}`, true},
		{"{\"\u212aid\":1}", true},
	} {
		if got := suspectName([]byte(tc.json)); got != tc.want {
			t.Errorf("suspectName(%s) = %v, want %v", tc.json, got, tc.want)
		}
	}
}

// A trust list whose members are capitalised is refused as a whole.
func TestParseJWKSetExactNames(t *testing.T) {
	if _, err := ParseJWKSet([]byte(`{"KEYS":[]}`)); err == nil {
		t.Error("a trust list with KEYS was accepted")
	}
}
