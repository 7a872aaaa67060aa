package permit

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Region is where a person is a resident: Hong Kong, Macau or Taiwan.
type Region string

// The regions whose residents the authority serves.
const (
	RegionHK Region = "HK"
	RegionMO Region = "MO"
	RegionTW Region = "TW"
)

// Valid reports whether r is one of the known regions.
func (r Region) Valid() bool { return r == RegionHK || r == RegionMO || r == RegionTW }

// Sex follows ISO/IEC 5218, as the credential carries it.
type Sex int

// The two sexes a permit records.
const (
	Male   Sex = 1
	Female Sex = 2
)

// Valid reports whether s is Male or Female.
func (s Sex) Valid() bool { return s == Male || s == Female }

// Person is someone in the registry: a Hong Kong, Macau or Taiwan resident
// with their identity data as the authority holds it.
type Person struct {
	ID        int64  // store-assigned; 0 until saved
	Name      string // in Chinese characters as registered; may be empty
	LatinName string // "SURNAME, GIVEN NAMES"
	Sex       Sex
	BirthDate Date
	Region    Region
	Phone     string // E.164, the number one-time codes go to
	Portrait  []byte // the photo on file (JPEG or PNG)
}

var (
	latinNameRE = regexp.MustCompile(`^[A-Z][A-Z' -]*, [A-Z][A-Z' -]*$|^[A-Z][A-Z' -]*$`)
	phoneRE     = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// MaxPortraitSize bounds a portrait so that a registry record stays small.
const MaxPortraitSize = 512 << 10

// Validate checks the person's own fields. It returns an *Error listing every
// problem, or nil.
func (p *Person) Validate() error {
	var ps problems
	p.validate(&ps, "")
	return ps.err("person")
}

func (p *Person) validate(ps *problems, prefix string) {
	if p.Name != "" && !isChineseName(p.Name) {
		ps.add(prefix+"name", "name_invalid", "must be Chinese characters (with · between parts), at most 32")
	}
	if !latinNameRE.MatchString(p.LatinName) || len(p.LatinName) > 64 {
		ps.add(prefix+"latin_name", "latin_name_invalid", `must be upper-case "SURNAME, GIVEN NAMES", at most 64 characters`)
	}
	if !p.Sex.Valid() {
		ps.add(prefix+"sex", "sex_invalid", "must be 1 (male) or 2 (female)")
	}
	if p.BirthDate.IsZero() {
		ps.add(prefix+"birth_date", "birth_date_missing", "is required")
	} else if p.BirthDate.Year < 1900 {
		ps.add(prefix+"birth_date", "birth_date_invalid", "is before 1900")
	}
	if !p.Region.Valid() {
		ps.add(prefix+"region", "region_invalid", "must be HK, MO or TW")
	}
	if !phoneRE.MatchString(p.Phone) {
		ps.add(prefix+"phone", "phone_invalid", "must be an E.164 number such as +85291234567")
	}
	switch {
	case len(p.Portrait) == 0:
		ps.add(prefix+"portrait", "portrait_missing", "is required")
	case len(p.Portrait) > MaxPortraitSize:
		ps.add(prefix+"portrait", "portrait_too_large", "is larger than %d bytes", MaxPortraitSize)
	case !IsImage(p.Portrait):
		ps.add(prefix+"portrait", "portrait_format", "must be a JPEG or PNG image")
	}
}

func isChineseName(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 32 {
		return false
	}
	for _, r := range s {
		if r != '·' && !unicode.Is(unicode.Han, r) {
			return false
		}
	}
	return !strings.HasPrefix(s, "·") && !strings.HasSuffix(s, "·")
}

// IsImage reports whether b starts like a JPEG or PNG file, the formats
// accepted for portraits and selfies.
func IsImage(b []byte) bool {
	return (len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) ||
		(len(b) > 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n")
}

// DocumentType is the kind of physical travel permit. Its numeric values are
// those of the credential's "document type" field (spec/formats.md §2).
type DocumentType int

// The physical travel permits.
const (
	HKHomeReturnPermit DocumentType = 1 // Home Return Permit, Hong Kong residents
	MOHomeReturnPermit DocumentType = 2 // Home Return Permit, Macau residents
	TWTravelPermit     DocumentType = 3 // Mainland Travel Permit for Taiwan Residents
)

// ParseDocumentType accepts the short names used by the CLI and the API:
// "hk", "mo" and "tw".
func ParseDocumentType(s string) (DocumentType, error) {
	switch strings.ToLower(s) {
	case "hk":
		return HKHomeReturnPermit, nil
	case "mo":
		return MOHomeReturnPermit, nil
	case "tw":
		return TWTravelPermit, nil
	}
	return 0, Errorf(ECodeInvalid, "unknown document type %q (want hk, mo or tw)", s)
}

// String returns the short name: "hk", "mo" or "tw".
func (t DocumentType) String() string {
	switch t {
	case HKHomeReturnPermit:
		return "hk"
	case MOHomeReturnPermit:
		return "mo"
	case TWTravelPermit:
		return "tw"
	}
	return fmt.Sprintf("DocumentType(%d)", int(t))
}

// Region is the region whose residents hold this kind of permit.
func (t DocumentType) Region() Region {
	switch t {
	case HKHomeReturnPermit:
		return RegionHK
	case MOHomeReturnPermit:
		return RegionMO
	case TWTravelPermit:
		return RegionTW
	}
	return ""
}

// Valid reports whether t is a known document type.
func (t DocumentType) Valid() bool { return t.Region() != "" }

// MarshalText implements encoding.TextMarshaler with the short name.
func (t DocumentType) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("invalid document type %d", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *DocumentType) UnmarshalText(b []byte) error {
	v, err := ParseDocumentType(string(b))
	*t = v
	return err
}

// Status is the registry state of a physical permit.
type Status string

// Registry states. Expiry is not a status: it follows from the dates.
const (
	StatusValid        Status = "valid"
	StatusReportedLost Status = "reported_lost"
	StatusCancelled    Status = "cancelled"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusValid || s == StatusReportedLost || s == StatusCancelled
}
