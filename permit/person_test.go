package permit

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// personCases edit validPerson; want lists the expected problems.
var personCases = []struct {
	name string
	edit func(*Person)
	want []string
}{
	{"valid", func(p *Person) {}, nil},

	// Chinese-character name.
	{"no Chinese name", func(p *Person) { p.Name = "" }, nil},
	{"simplified characters", func(p *Person) { p.Name = "陈大文" }, nil},
	{"transliterated name with middle dot", func(p *Person) { p.Name = "麥·史密斯" }, nil},
	{"32 characters", func(p *Person) { p.Name = strings.Repeat("陳", 32) }, nil},
	{"33 characters", func(p *Person) { p.Name = strings.Repeat("陳", 33) }, []string{"name name_invalid"}},
	{"latin letters", func(p *Person) { p.Name = "Chan Tai Man" }, []string{"name name_invalid"}},
	{"mixed", func(p *Person) { p.Name = "陳Tai文" }, []string{"name name_invalid"}},
	{"space", func(p *Person) { p.Name = "陳 大文" }, []string{"name name_invalid"}},
	{"leading middle dot", func(p *Person) { p.Name = "·陳大文" }, []string{"name name_invalid"}},
	{"trailing middle dot", func(p *Person) { p.Name = "陳大文·" }, []string{"name name_invalid"}},
	{"only a middle dot", func(p *Person) { p.Name = "·" }, []string{"name name_invalid"}},
	{"katakana middle dot", func(p *Person) { p.Name = "麥・史密斯" }, []string{"name name_invalid"}},
	{"full-width digit", func(p *Person) { p.Name = "陳１" }, []string{"name name_invalid"}},
	{"invalid UTF-8", func(p *Person) { p.Name = "陳\xff" }, []string{"name name_invalid"}},

	// Latin name "SURNAME, GIVEN NAMES".
	{"surname only", func(p *Person) { p.LatinName = "CHAN" }, nil},
	{"apostrophe and hyphen", func(p *Person) { p.LatinName = "O'NEIL-SMITH, MARY ANN" }, nil},
	{"64 characters", func(p *Person) { p.LatinName = "CHAN, " + strings.Repeat("A", 58) }, nil},
	{"65 characters", func(p *Person) { p.LatinName = "CHAN, " + strings.Repeat("A", 59) }, []string{"latin_name latin_name_invalid"}},
	{"empty latin name", func(p *Person) { p.LatinName = "" }, []string{"latin_name latin_name_invalid"}},
	{"lower case", func(p *Person) { p.LatinName = "Chan, Tai Man" }, []string{"latin_name latin_name_invalid"}},
	{"no space after comma", func(p *Person) { p.LatinName = "CHAN,TAI MAN" }, []string{"latin_name latin_name_invalid"}},
	{"two commas", func(p *Person) { p.LatinName = "CHAN, TAI, MAN" }, []string{"latin_name latin_name_invalid"}},
	{"no surname", func(p *Person) { p.LatinName = ", TAI MAN" }, []string{"latin_name latin_name_invalid"}},
	{"no given names after comma", func(p *Person) { p.LatinName = "CHAN, " }, []string{"latin_name latin_name_invalid"}},
	{"leading space", func(p *Person) { p.LatinName = " CHAN, TAI MAN" }, []string{"latin_name latin_name_invalid"}},
	{"accented letter", func(p *Person) { p.LatinName = "ÉMILE, JEAN" }, []string{"latin_name latin_name_invalid"}},
	{"Chinese in latin name", func(p *Person) { p.LatinName = "陳, 大文" }, []string{"latin_name latin_name_invalid"}},
	{"digit", func(p *Person) { p.LatinName = "CHAN, TAI MAN 2" }, []string{"latin_name latin_name_invalid"}},
	{"newline", func(p *Person) { p.LatinName = "CHAN, TAI MAN\n" }, []string{"latin_name latin_name_invalid"}},

	// Sex.
	{"female", func(p *Person) { p.Sex = Female }, nil},
	{"sex not known (ISO 5218 0)", func(p *Person) { p.Sex = 0 }, []string{"sex sex_invalid"}},
	{"sex 3", func(p *Person) { p.Sex = 3 }, []string{"sex sex_invalid"}},
	{"sex not applicable (ISO 5218 9)", func(p *Person) { p.Sex = 9 }, []string{"sex sex_invalid"}},

	// Birth date.
	{"born 1900-01-01", func(p *Person) { p.BirthDate = Date{1900, 1, 1} }, nil},
	{"born 1899-12-31", func(p *Person) { p.BirthDate = Date{1899, 12, 31} }, []string{"birth_date birth_date_invalid"}},
	{"no birth date", func(p *Person) { p.BirthDate = Date{} }, []string{"birth_date birth_date_missing"}},

	// Region.
	{"Macau", func(p *Person) { p.Region = RegionMO }, nil},
	{"Taiwan", func(p *Person) { p.Region = RegionTW }, nil},
	{"no region", func(p *Person) { p.Region = "" }, []string{"region region_invalid"}},
	{"lower-case region", func(p *Person) { p.Region = "hk" }, []string{"region region_invalid"}},
	{"mainland", func(p *Person) { p.Region = "CN" }, []string{"region region_invalid"}},

	// Phone (E.164).
	{"Macau phone", func(p *Person) { p.Phone = "+85362123456" }, nil},
	{"7 digits", func(p *Person) { p.Phone = "+1234567" }, nil},
	{"15 digits", func(p *Person) { p.Phone = "+123456789012345" }, nil},
	{"6 digits", func(p *Person) { p.Phone = "+123456" }, []string{"phone phone_invalid"}},
	{"16 digits", func(p *Person) { p.Phone = "+1234567890123456" }, []string{"phone phone_invalid"}},
	{"no plus", func(p *Person) { p.Phone = "85291234567" }, []string{"phone phone_invalid"}},
	{"country code 0", func(p *Person) { p.Phone = "+05291234567" }, []string{"phone phone_invalid"}},
	{"spaces", func(p *Person) { p.Phone = "+852 9123 4567" }, []string{"phone phone_invalid"}},
	{"dashes", func(p *Person) { p.Phone = "+852-91234567" }, []string{"phone phone_invalid"}},
	{"trailing newline", func(p *Person) { p.Phone = "+85291234567\n" }, []string{"phone phone_invalid"}},
	{"no phone", func(p *Person) { p.Phone = "" }, []string{"phone phone_invalid"}},

	// Portrait image type and size.
	{"PNG portrait", func(p *Person) { p.Portrait = pngBytes }, nil},
	{"largest portrait", func(p *Person) { p.Portrait = sized(jpegBytes, MaxPortraitSize) }, nil},
	{"portrait too large", func(p *Person) { p.Portrait = sized(jpegBytes, MaxPortraitSize+1) }, []string{"portrait portrait_too_large"}},
	{"no portrait", func(p *Person) { p.Portrait = nil }, []string{"portrait portrait_missing"}},
	{"GIF portrait", func(p *Person) { p.Portrait = []byte("GIF89a\x01\x00\x01\x00") }, []string{"portrait portrait_format"}},
	{"truncated JPEG magic", func(p *Person) { p.Portrait = []byte{0xFF, 0xD8, 0xFF} }, []string{"portrait portrait_format"}},
	{"PNG magic alone", func(p *Person) { p.Portrait = []byte("\x89PNG\r\n\x1a\n") }, []string{"portrait portrait_format"}},
	{"text portrait", func(p *Person) { p.Portrait = []byte("not an image at all") }, []string{"portrait portrait_format"}},

	// Every problem is listed.
	{"empty person", func(p *Person) { *p = Person{} }, []string{
		"latin_name latin_name_invalid", "sex sex_invalid", "birth_date birth_date_missing",
		"region region_invalid", "phone phone_invalid", "portrait portrait_missing",
	}},
}

// sized returns head padded with zeros to n bytes.
func sized(head []byte, n int) []byte {
	b := make([]byte, n)
	copy(b, head)
	return b
}

func TestPersonValidate(t *testing.T) {
	for _, tc := range personCases {
		t.Run(tc.name, func(t *testing.T) {
			p := validPerson()
			tc.edit(&p)
			checkProblems(t, p.Validate(), tc.want...)
		})
	}
}

func TestPersonValidateMessage(t *testing.T) {
	p := validPerson()
	p.Phone = ""
	err := p.Validate()
	if got, want := err.Error(), "invalid person: phone: must be an E.164 number such as +85291234567"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}

func FuzzPersonValidate(f *testing.F) {
	p := validPerson()
	f.Add(p.Name, p.LatinName, p.Phone, p.Portrait)
	for _, tc := range personCases {
		q := validPerson()
		tc.edit(&q)
		if len(q.Portrait) > 64 {
			q.Portrait = q.Portrait[:64] // keep the corpus small
		}
		f.Add(q.Name, q.LatinName, q.Phone, q.Portrait)
	}
	f.Fuzz(func(t *testing.T, name, latin, phone string, portrait []byte) {
		p := validPerson()
		p.Name, p.LatinName, p.Phone, p.Portrait = name, latin, phone, portrait
		err := p.Validate()
		bad := map[string]bool{}
		for _, k := range problemKeys(t, err) {
			bad[strings.Fields(k)[0]] = true
		}
		// Properties of accepted values, stated without the validators'
		// regular expressions.
		if !bad["name"] {
			if !utf8.ValidString(name) || utf8.RuneCountInString(name) > 32 {
				t.Fatalf("name %q accepted", name)
			}
			for _, r := range name {
				if r != '·' && !unicode.Is(unicode.Han, r) {
					t.Fatalf("name %q with %q accepted", name, r)
				}
			}
		}
		if !bad["latin_name"] {
			if latin == "" || len(latin) > 64 || strings.Count(latin, ",") > 1 || latin[0] < 'A' || latin[0] > 'Z' {
				t.Fatalf("latin name %q accepted", latin)
			}
			for _, r := range latin {
				if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZ' -,", r) {
					t.Fatalf("latin name %q with %q accepted", latin, r)
				}
			}
		}
		if !bad["phone"] {
			digits := strings.TrimPrefix(phone, "+")
			if digits == phone || len(digits) < 7 || len(digits) > 15 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
				t.Fatalf("phone %q accepted", phone)
			}
		}
		if !bad["portrait"] {
			if len(portrait) > MaxPortraitSize || !(bytes.HasPrefix(portrait, []byte{0xFF, 0xD8, 0xFF}) || bytes.HasPrefix(portrait, []byte("\x89PNG\r\n\x1a\n"))) {
				t.Fatalf("portrait %q accepted", portrait)
			}
		}
	})
}

func TestIsImage(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{jpegBytes, true},
		{pngBytes, true},
		{[]byte{0xFF, 0xD8, 0xFF, 0xDB}, true},
		{[]byte{0xFF, 0xD8, 0xFF}, false},
		{[]byte{0xFF, 0xD8, 0x00, 0xE0}, false},
		{[]byte("\x89PNG\r\n\x1a\n"), false},
		{[]byte("\x89PNG\r\n\x1a\r\x00"), false},
		{[]byte("GIF89a......"), false},
		{nil, false},
	} {
		if got := IsImage(tc.b); got != tc.want {
			t.Errorf("IsImage(%q) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

func TestRegionSexStatusValid(t *testing.T) {
	for _, r := range []Region{RegionHK, RegionMO, RegionTW} {
		if !r.Valid() {
			t.Errorf("%q invalid", r)
		}
	}
	for _, r := range []Region{"", "hk", "CN", "HKG"} {
		if r.Valid() {
			t.Errorf("region %q valid", r)
		}
	}
	if !Male.Valid() || !Female.Valid() || Sex(0).Valid() || Sex(3).Valid() {
		t.Error("Sex.Valid is wrong")
	}
	for _, s := range []Status{StatusValid, StatusReportedLost, StatusCancelled} {
		if !s.Valid() {
			t.Errorf("%q invalid", s)
		}
	}
	for _, s := range []Status{"", "expired", "Valid", "lost"} {
		if s.Valid() {
			t.Errorf("status %q valid", s)
		}
	}
}

var documentTypeCases = []struct {
	in   string
	want DocumentType // 0: refused
}{
	{"hk", HKHomeReturnPermit},
	{"mo", MOHomeReturnPermit},
	{"tw", TWTravelPermit},
	{"HK", HKHomeReturnPermit},
	{"Mo", MOHomeReturnPermit},
	{"", 0},
	{"h", 0},
	{"hkg", 0},
	{"cn", 0},
	{" hk", 0},
	{"hk\n", 0},
	{"1", 0},
}

func TestParseDocumentType(t *testing.T) {
	for _, tc := range documentTypeCases {
		got, err := ParseDocumentType(tc.in)
		if got != tc.want || (err == nil) != (tc.want != 0) {
			t.Errorf("ParseDocumentType(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		t      DocumentType
		name   string
		region Region
	}{
		{HKHomeReturnPermit, "hk", RegionHK},
		{MOHomeReturnPermit, "mo", RegionMO},
		{TWTravelPermit, "tw", RegionTW},
	} {
		if tc.t.String() != tc.name || tc.t.Region() != tc.region || !tc.t.Valid() {
			t.Errorf("%d: %s %q %v", int(tc.t), tc.t, tc.t.Region(), tc.t.Valid())
		}
		b, err := tc.t.MarshalText()
		var back DocumentType
		if err != nil || string(b) != tc.name || back.UnmarshalText(b) != nil || back != tc.t {
			t.Errorf("%s: text round trip %q, %v -> %v", tc.name, b, err, back)
		}
	}
	for _, bad := range []DocumentType{0, 4, -1} {
		if bad.Valid() || bad.Region() != "" {
			t.Errorf("DocumentType(%d) valid", int(bad))
		}
		if _, err := bad.MarshalText(); err == nil {
			t.Errorf("DocumentType(%d) marshalled", int(bad))
		}
	}
	var dt DocumentType
	if err := dt.UnmarshalText([]byte("cn")); err == nil {
		t.Error(`UnmarshalText("cn") accepted`)
	}
}

func FuzzParseDocumentType(f *testing.F) {
	for _, tc := range documentTypeCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dt, err := ParseDocumentType(s)
		if err != nil {
			if dt != 0 {
				t.Fatalf("ParseDocumentType(%q) = %v with error %v", s, dt, err)
			}
			return
		}
		// Accepted text names the type in some case, and the type's own
		// name parses back to it.
		if !dt.Valid() || !strings.EqualFold(s, dt.String()) {
			t.Fatalf("ParseDocumentType(%q) = %v", s, dt)
		}
		if back, err := ParseDocumentType(dt.String()); err != nil || back != dt {
			t.Fatalf("%v's name %q parses to %v, %v", dt, dt.String(), back, err)
		}
	})
}

func TestParseReason(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Reason
	}{
		{"lost", ReasonLost},
		{"damaged", ReasonDamaged},
		{"forgotten", ReasonForgotten},
		{"Lost", 0},
		{"", 0},
		{"stolen", 0},
	} {
		got, err := ParseReason(tc.in)
		if tc.want == 0 {
			if ErrorCode(err) != ECodeReasonInvalid {
				t.Errorf("ParseReason(%q) = %v, %v; want code %s", tc.in, got, err, ECodeReasonInvalid)
			}
			continue
		}
		if err != nil || got != tc.want || got.String() != tc.in {
			t.Errorf("ParseReason(%q) = %v, %v", tc.in, got, err)
		}
	}
}
