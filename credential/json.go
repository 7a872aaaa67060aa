package credential

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// unmarshalExact is json.Unmarshal with member names matched exactly.
func unmarshalExact(b []byte, v any) error {
	if err := exactNames(b, v); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// exactNames refuses a member of the JSON value b whose name matches a
// field of v only when case is ignored. encoding/json would read "ALG" as
// "alg", but JOSE and JWT names are case-sensitive (RFC 7515 §4, RFC 7519
// §4), so a verifier following the spec would not see such a member at all
// and the two would disagree. When every field name of v is lower-case
// ASCII, as the spec's are, only a member name with a capital, an escape
// or a non-ASCII letter can match one by case alone; a document without
// such a name needs no second decoding.
func exactNames(b []byte, v any) error {
	t := reflect.TypeOf(v)
	if !suspectName(b) && lowerNames(t) {
		return nil
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	return exactNamesIn(doc, t, 0)
}

var lowerNamesCache sync.Map // reflect.Type → bool

// lowerNames reports whether every JSON field name reachable from t is
// lower-case ASCII.
func lowerNames(t reflect.Type) bool {
	if v, ok := lowerNamesCache.Load(t); ok {
		return v.(bool)
	}
	ok := lowerNamesIn(t, map[reflect.Type]bool{})
	lowerNamesCache.Store(t, ok)
	return ok
}

func lowerNamesIn(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return true
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" && !f.Anonymous {
			tag = f.Name
		}
		if strings.ToLower(tag) != tag || !isASCII(tag) || !lowerNamesIn(f.Type, seen) {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// suspectName reports whether a member name in b holds an ASCII capital,
// an escape or a non-ASCII byte. It scans strings only: one followed by a
// colon is a name.
func suspectName(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '"' {
			continue
		}
		suspect := false
		for i++; i < len(b) && b[i] != '"'; i++ {
			if c := b[i]; c == '\\' {
				suspect = true
				i++
			} else if 'A' <= c && c <= 'Z' || c >= 0x80 {
				suspect = true
			}
		}
		j := i + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\n' || b[j] == '\r') {
			j++
		}
		if suspect && j < len(b) && b[j] == ':' {
			return true
		}
	}
	return false
}

func exactNamesIn(doc any, t reflect.Type, depth int) error {
	if depth > 16 {
		return errors.New("nested too deeply")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, _ := doc.(map[string]any) // a type mismatch is json.Unmarshal's to report
		// In order, so that the error names the same member every time.
		for _, name := range slices.Sorted(maps.Keys(obj)) {
			f, ok := jsonField(t, name)
			if !ok {
				continue
			}
			if f.Name != name {
				return fmt.Errorf("member %q must be spelled %q", name, f.Name)
			}
			if err := exactNamesIn(obj[name], f.Type, depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		arr, _ := doc.([]any)
		for _, e := range arr {
			if err := exactNamesIn(e, t.Elem(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		obj, _ := doc.(map[string]any)
		for _, e := range obj {
			if err := exactNamesIn(e, t.Elem(), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonField finds the field of struct type t that encoding/json would fill
// from member name, and returns it with the name its tag spells.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			if g, ok := jsonField(f.Type, name); ok {
				return g, true
			}
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if strings.EqualFold(tag, name) {
			f.Name = tag
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// strictJSON decodes one JSON object into v after checking that no object
// in it has a duplicate member name, and that every member name is spelled
// exactly (see exactNames).
func strictJSON(b []byte, v any) error {
	if !json.Valid(b) {
		return errors.New("not valid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := noDuplicateKeys(dec, 0); err != nil {
		return err
	}
	if err := exactNames(b, v); err != nil {
		return err
	}
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// noDuplicateKeys walks one JSON value from dec. Depth is bounded, like
// CBOR nesting, so a hostile document cannot exhaust the stack.
func noDuplicateKeys(dec *json.Decoder, depth int) error {
	if depth > 16 {
		return errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			name := k.(string)
			if seen[name] {
				return fmt.Errorf("duplicate member %q", name)
			}
			seen[name] = true
			if err := noDuplicateKeys(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
	case json.Delim('['):
		for dec.More() {
			if err := noDuplicateKeys(dec, depth+1); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
	}
	return err
}
