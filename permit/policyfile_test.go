package permit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	for _, tc := range []struct {
		file     string
		problems []string // field problem codes, or nil for a valid file
		check    func(t *testing.T, p Policy)
	}{
		{"default.json", nil, func(t *testing.T, p Policy) {
			if p.Hash() != DefaultPolicy().Hash() {
				t.Error("the file of today's rules does not hash as DefaultPolicy")
			}
		}},
		{"both.json", nil, func(t *testing.T, p Policy) {
			e := p.Kinds[ElectronicPermit]
			if !p.AllowBorder || !p.AllowElectronicPermit || !e.Enabled || e.Validity != 365*24*time.Hour ||
				!slices.Contains(e.Scopes, ScopeBorder) || e.MonthlyQuota != 1 {
				t.Errorf("policy = %+v", p)
			}
			if p.Kinds[TemporaryEPermit].Validity != 7*24*time.Hour {
				t.Error("a kind left out does not keep today's rules")
			}
			if p.Hash() == DefaultPolicy().Hash() {
				t.Error("a wider policy hashes as the default")
			}
		}},
		{"narrower-temporary.json", nil, func(t *testing.T, p Policy) {
			if k := p.Kinds[TemporaryEPermit]; k.Validity != 72*time.Hour || k.MonthlyQuota != 1 || len(k.Scopes) != 1 {
				t.Errorf("temporary = %+v", k)
			}
		}},
		{"border-without-switch.json", []string{string(ECodeScopeNotAllowed)}, nil},
		{"electronic-without-switch.json", []string{"electronic_not_allowed"}, nil},
		{"wider-temporary.json", []string{"widening"}, nil},
		{"unknown-field.json", []string{}, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "policy", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			p, err := ParsePolicy(data)
			if tc.problems == nil {
				if err != nil {
					t.Fatalf("ParsePolicy: %v", err)
				}
				tc.check(t, p)
				return
			}
			if ErrorCode(err) != ECodeInvalid {
				t.Fatalf("ParsePolicy = %v; want invalid", err)
			}
			var codes []string
			if pe, ok := err.(*Error); ok {
				for _, pr := range pe.Problems {
					codes = append(codes, pr.Code)
				}
			}
			for _, want := range tc.problems {
				if !slices.Contains(codes, want) {
					t.Errorf("problems %v lack %q (%v)", codes, want, err)
				}
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{} {}`, `{"temporary_epermit": {"enabled": true, "validity": "7d"}}`,
		`{"temporary_epermit": {"enabled": true, "validity": "90m", "scopes": ["flight"], "monthly_quota": 1, "reasons": ["lost"]}}`,
		`{"temporary_epermit": {"enabled": true, "validity": "24h", "scopes": ["boat"], "monthly_quota": 1, "reasons": ["lost"]}}`,
		`{"temporary_epermit": {"enabled": true, "validity": "24h", "scopes": ["flight"], "monthly_quota": 1}}`,
		`{"temporary_epermit": {"enabled": true, "validity": "24h", "scopes": ["flight"], "monthly_quota": 0, "reasons": ["lost"]}}`,
		`{"allow_border": true, "temporary_epermit": {"enabled": true, "validity": "24h", "scopes": ["border"], "monthly_quota": 1, "reasons": ["bored"]}}`,
		strings.Repeat(" ", maxPolicyFile+1)} {
		if _, err := ParsePolicy([]byte(bad)); ErrorCode(err) != ECodeInvalid {
			t.Errorf("ParsePolicy(%.60q) = %v; want invalid", bad, err)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, name := range []string{"default.json", "both.json", "wider-temporary.json"} {
		data, _ := os.ReadFile(filepath.Join("testdata", "policy", name))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data)
		if err != nil {
			return
		}
		// Whatever it accepts is a valid policy that widens nothing
		// without its switch.
		if err := p.Validate(); err != nil {
			t.Fatalf("ParsePolicy accepted an invalid policy: %v", err)
		}
		for _, kp := range p.Kinds {
			if slices.Contains(kp.Scopes, ScopeBorder) && !p.AllowBorder {
				t.Fatal("border scope without its switch")
			}
		}
		if p.Kinds[ElectronicPermit].Enabled && !p.AllowElectronicPermit {
			t.Fatal("electronic permit without its switch")
		}
	})
}
