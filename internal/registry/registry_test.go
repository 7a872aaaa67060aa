package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// example is testdata/example.jsonl, the file docs/registry.md shows.
func example(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/example.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lines returns the example's lines as generic JSON objects to edit.
func exampleLines(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(example(t)), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestReadExample(t *testing.T) {
	entries, err := Read(bytes.NewReader(example(t)))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 3 {
		t.Fatalf("example has %d records, want at least 3", len(entries))
	}
	for i, e := range entries {
		if e.Line != i+1 {
			t.Errorf("entry %d has line %d", i, e.Line)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	entries, err := Read(bytes.NewReader(example(t)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := NewEncoder(&buf)
	for i := range entries {
		if err := enc.Encode(&entries[i].Record); err != nil {
			t.Fatal(err)
		}
	}
	enc.Flush()
	if !bytes.Equal(buf.Bytes(), example(t)) {
		t.Fatalf("re-encoded example differs from the file:\n%s", buf.String())
	}
}

func TestReadProblems(t *testing.T) {
	edit := func(fn func(m map[string]any)) string {
		m := exampleLines(t)[0]
		fn(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	person := func(m map[string]any) map[string]any { return m["person"].(map[string]any) }
	tp := func(m map[string]any) map[string]any { return m["travel_permits"].([]any)[0].(map[string]any) }
	rp := func(m map[string]any) map[string]any { return m["residence_permit"].(map[string]any) }
	cases := []struct {
		name, line, field, code string
	}{
		{"not json", `{"person": `, "", "json"},
		{"two values", `{} {}`, "", "json"},
		{"unknown field", edit(func(m map[string]any) { m["nickname"] = "x" }), "nickname", "unknown_field"},
		{"no person", `{"travel_permits": []}`, "person", "person_missing"},
		{"sex as text", edit(func(m map[string]any) { person(m)["sex"] = "M" }), "person.sex", "json_type"},
		{"bad date", edit(func(m map[string]any) { person(m)["birth_date"] = "1990-13-01" }), "person.birth_date", "date_invalid"},
		{"bad expiry", edit(func(m map[string]any) { tp(m)["expires_on"] = "2031/06/30" }), "travel_permits[0].expires_on", "date_invalid"},
		{"bad type", edit(func(m map[string]any) { tp(m)["type"] = "uk" }), "travel_permits[0].type", "document_type_invalid"},
		{"portrait not base64", edit(func(m map[string]any) { person(m)["portrait"] = "!!" }), "person.portrait", "base64_invalid"},
		{"bad number", edit(func(m map[string]any) { tp(m)["number"] = "X1" }), "travel_permits[0].number", "number_invalid"},
		{"check character", edit(func(m map[string]any) {
			n := rp(m)["number"].(string)
			last := byte('0')
			if n[17] == '0' {
				last = '1'
			}
			rp(m)["number"] = n[:17] + string(last)
		}), "residence_permit.number", "check_character"},
		{"no permits", edit(func(m map[string]any) { m["travel_permits"] = []any{} }), "travel_permits", "travel_permit_missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := string(example(t)) + tc.line + "\n"
			_, err := Read(strings.NewReader(in))
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("Read = %v, want *Error", err)
			}
			wantLine := bytes.Count(example(t), []byte("\n")) + 1
			for _, p := range re.Problems {
				if p.Line == wantLine && p.Code == tc.code && (tc.field == "" || p.Field == tc.field) {
					return
				}
			}
			t.Fatalf("problems %v lack line %d %s %s", re.Problems, wantLine, tc.field, tc.code)
		})
	}
}

func TestReadReportsEveryLine(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(string(example(t))), "\n")
	// Line 2 broken, line 4 duplicates line 1.
	in := lines[0] + "\n" + `{"person":{}}` + "\n" + strings.Join(lines[1:], "\n") + "\n" + lines[0] + "\n"
	_, err := Read(strings.NewReader(in))
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("Read = %v, want *Error", err)
	}
	got := map[int]bool{}
	for _, p := range re.Problems {
		got[p.Line] = true
	}
	dupLine := len(lines) + 2
	if !got[2] || !got[dupLine] || len(got) != 2 {
		t.Fatalf("problem lines %v, want 2 and %d only: %v", got, dupLine, re.Problems)
	}
	if !strings.Contains(err.Error(), "nothing was imported") {
		t.Errorf("error text %q does not say nothing was imported", err)
	}
}

func TestReadLineTooLong(t *testing.T) {
	in := string(example(t)) + `{"x":"` + strings.Repeat("a", MaxLineSize) + "\"}\n"
	_, err := Read(strings.NewReader(in))
	var re *Error
	if !errors.As(err, &re) || re.Problems[len(re.Problems)-1].Code != "line_too_long" {
		t.Fatalf("Read = %v, want line_too_long", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, l := range bytes.Split(example(f), []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte(`{"person":{"sex":1e400}}`))
	f.Add([]byte(`{"travel_permits":[{"type":"hk","number":"H1234567890"}]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, ps := Decode(line)
		if len(ps) > 0 {
			for _, p := range ps {
				if p.Code == "" || p.Reason == "" {
					t.Fatalf("problem without code or reason: %+v", p)
				}
			}
			return
		}
		// Anything accepted re-encodes to a line that decodes to the same record.
		var buf bytes.Buffer
		enc := NewEncoder(&buf)
		if err := enc.Encode(&rec); err != nil {
			t.Fatal(err)
		}
		enc.Flush()
		again, ps := Decode(bytes.TrimSpace(buf.Bytes()))
		if len(ps) > 0 {
			t.Fatalf("re-encoded record does not decode: %v", ps)
		}
		var b2 bytes.Buffer
		enc2 := NewEncoder(&b2)
		enc2.Encode(&again)
		enc2.Flush()
		if !bytes.Equal(buf.Bytes(), b2.Bytes()) {
			t.Fatalf("encoding is not stable:\n%s\n%s", buf.Bytes(), b2.Bytes())
		}
	})
}
