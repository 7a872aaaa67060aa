// Package registry reads and writes the registry exchange format: JSON Lines,
// one person with their travel permits, residence permit and portrait per
// line (docs/registry.md). Reading is all-or-nothing: Read validates every
// line and returns every problem with its line number, so that an operator
// can fix a file in one pass and nothing is imported from a file with errors.
package registry

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/epermit/epermit/permit"
)

// MaxLineSize bounds one line: a record with a portrait at the domain's
// size limit, base64-encoded, with room to spare.
const MaxLineSize = permit.MaxPortraitSize*4/3 + 64<<10

// Entry is one decoded line.
type Entry struct {
	Line   int
	Record permit.Record
}

// Problem is one thing wrong with a line.
type Problem struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", p.Line, p.Field, p.Reason)
}

// Error lists every problem found in a file.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry: %d problem(s); nothing was imported", len(e.Problems))
	for i, p := range e.Problems {
		if i == 20 {
			fmt.Fprintf(&b, "\n  … and %d more", len(e.Problems)-i)
			break
		}
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// The JSON shapes of docs/registry.md. Dates, document types and the
// portrait are read as text and converted here, so that a bad value is
// reported with its field's name.
type (
	jsonRecord struct {
		Person          *jsonPerson          `json:"person"`
		TravelPermits   []jsonTravelPermit   `json:"travel_permits"`
		ResidencePermit *jsonResidencePermit `json:"residence_permit,omitempty"`
	}
	jsonPerson struct {
		Name      string        `json:"name"`
		LatinName string        `json:"latin_name"`
		Sex       permit.Sex    `json:"sex"`
		BirthDate string        `json:"birth_date"`
		Region    permit.Region `json:"region"`
		Phone     string        `json:"phone"`
		Portrait  string        `json:"portrait"` // standard base64
	}
	jsonTravelPermit struct {
		Type      string        `json:"type"`
		Number    string        `json:"number"`
		Renewal   int           `json:"renewal"`
		IssuedOn  string        `json:"issued_on"`
		ExpiresOn string        `json:"expires_on"`
		Status    permit.Status `json:"status"`
	}
	jsonResidencePermit struct {
		Number    string        `json:"number"`
		IssuedOn  string        `json:"issued_on"`
		ExpiresOn string        `json:"expires_on"`
		Status    permit.Status `json:"status"`
	}
)

// converter collects conversion problems with their field names.
type converter struct{ problems []Problem }

func (c *converter) date(field, s string) permit.Date {
	if s == "" {
		return permit.Date{} // Validate reports the missing date
	}
	d, err := permit.ParseDate(s)
	if err != nil {
		c.problems = append(c.problems, Problem{Field: field, Code: "date_invalid", Reason: err.Error()})
	}
	return d
}

// Decode parses and validates one line. Problems carry line number 0.
func Decode(line []byte) (permit.Record, []Problem) {
	var jr jsonRecord
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&jr); err != nil {
		return permit.Record{}, []Problem{jsonProblem(err)}
	}
	if dec.More() {
		return permit.Record{}, []Problem{{Code: "json", Reason: "more than one JSON value on the line"}}
	}
	if jr.Person == nil {
		return permit.Record{}, []Problem{{Field: "person", Code: "person_missing", Reason: "is required"}}
	}
	var c converter
	jp := jr.Person
	portrait, err := base64.StdEncoding.DecodeString(jp.Portrait)
	if err != nil {
		c.problems = append(c.problems, Problem{Field: "person.portrait", Code: "base64_invalid", Reason: "is not standard base64"})
	}
	rec := permit.Record{Person: permit.Person{Name: jp.Name, LatinName: jp.LatinName, Sex: jp.Sex,
		BirthDate: c.date("person.birth_date", jp.BirthDate), Region: jp.Region, Phone: jp.Phone, Portrait: portrait}}
	for i, tp := range jr.TravelPermits {
		prefix := "travel_permits[" + strconv.Itoa(i) + "]."
		t, err := permit.ParseDocumentType(tp.Type)
		if err != nil {
			c.problems = append(c.problems, Problem{Field: prefix + "type", Code: "document_type_invalid", Reason: "must be hk, mo or tw"})
		}
		rec.TravelPermits = append(rec.TravelPermits, permit.TravelPermit{Type: t, Number: tp.Number, Renewal: tp.Renewal,
			IssuedOn: c.date(prefix+"issued_on", tp.IssuedOn), ExpiresOn: c.date(prefix+"expires_on", tp.ExpiresOn), Status: tp.Status})
	}
	if rp := jr.ResidencePermit; rp != nil {
		rec.ResidencePermit = &permit.ResidencePermit{Number: rp.Number, IssuedOn: c.date("residence_permit.issued_on", rp.IssuedOn),
			ExpiresOn: c.date("residence_permit.expires_on", rp.ExpiresOn), Status: rp.Status}
	}
	if len(c.problems) > 0 {
		return rec, c.problems
	}
	if err := rec.Validate(); err != nil {
		var pe *permit.Error
		if !errors.As(err, &pe) {
			return rec, []Problem{{Code: "invalid", Reason: err.Error()}}
		}
		ps := make([]Problem, len(pe.Problems))
		for i, p := range pe.Problems {
			ps[i] = Problem{Field: p.Field, Code: p.Code, Reason: p.Reason}
		}
		return rec, ps
	}
	return rec, nil
}

// jsonProblem turns an encoding/json error into a line problem that names
// the field where it can.
func jsonProblem(err error) Problem {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return Problem{Field: te.Field, Code: "json_type", Reason: fmt.Sprintf("must be a JSON %s", jsonKind(te.Type.Kind().String()))}
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Problem{Code: "json", Reason: "not valid JSON: " + err.Error()}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Problem{Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Code: "unknown_field", Reason: "is not a field of the registry format"}
	}
	return Problem{Code: "json", Reason: err.Error()}
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "float64":
		return "number"
	case "slice":
		return "array"
	case "struct", "ptr":
		return "object"
	}
	return k
}

// Read decodes every line of r. It returns the records only when all lines
// are valid and no travel or residence permit appears twice; otherwise an
// *Error with every problem found. Blank lines are skipped.
func Read(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLineSize)
	var entries []Entry
	var problems []Problem
	permitLine := map[string]int{}
	residenceLine := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		rec, ps := Decode(line)
		for _, p := range ps {
			p.Line = n
			problems = append(problems, p)
		}
		if len(ps) > 0 {
			continue
		}
		for i, tp := range rec.TravelPermits {
			if first, dup := permitLine[tp.Key()]; dup {
				problems = append(problems, Problem{n, "travel_permits[" + strconv.Itoa(i) + "].number", "duplicate",
					fmt.Sprintf("permit %s is already on line %d", tp.Number, first)})
			}
			permitLine[tp.Key()] = n
		}
		if rp := rec.ResidencePermit; rp != nil {
			if first, dup := residenceLine[rp.Number]; dup {
				problems = append(problems, Problem{n, "residence_permit.number", "duplicate",
					fmt.Sprintf("residence permit %s is already on line %d", rp.Number, first)})
			}
			residenceLine[rp.Number] = n
		}
		entries = append(entries, Entry{Line: n, Record: rec})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			problems = append(problems, Problem{Line: n + 1, Code: "line_too_long", Reason: fmt.Sprintf("longer than %d bytes; reading stopped here", MaxLineSize)})
		} else {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return entries, nil
}

// Encoder writes records in the registry format, one per line.
type Encoder struct {
	w *bufio.Writer
}

// NewEncoder returns an Encoder writing to w. Call Flush when done.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: bufio.NewWriter(w)} }

// Encode writes one record as a line.
func (e *Encoder) Encode(rec *permit.Record) error {
	p := &rec.Person
	jr := jsonRecord{TravelPermits: []jsonTravelPermit{}, Person: &jsonPerson{Name: p.Name, LatinName: p.LatinName,
		Sex: p.Sex, BirthDate: p.BirthDate.String(), Region: p.Region, Phone: p.Phone,
		Portrait: base64.StdEncoding.EncodeToString(p.Portrait)}}
	for _, tp := range rec.TravelPermits {
		jr.TravelPermits = append(jr.TravelPermits, jsonTravelPermit{Type: tp.Type.String(), Number: tp.Number,
			Renewal: tp.Renewal, IssuedOn: tp.IssuedOn.String(), ExpiresOn: tp.ExpiresOn.String(), Status: tp.Status})
	}
	if rp := rec.ResidencePermit; rp != nil {
		jr.ResidencePermit = &jsonResidencePermit{Number: rp.Number, IssuedOn: rp.IssuedOn.String(),
			ExpiresOn: rp.ExpiresOn.String(), Status: rp.Status}
	}
	b, err := json.Marshal(jr)
	if err != nil {
		return err
	}
	e.w.Write(b)
	return e.w.WriteByte('\n')
}

// Flush writes any buffered data.
func (e *Encoder) Flush() error { return e.w.Flush() }
