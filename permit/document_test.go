package permit

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// travelPermitNumberCases are spec/formats.md §7's travel permit numbers, as
// printed, for each document type. renewal is -1 unless the printed number is
// a 1999 card's; lifetime is "" when the number must be refused.
var travelPermitNumberCases = []struct {
	name     string
	typ      DocumentType
	printed  string
	lifetime string
	renewal  int
}{
	// Accepted.
	{"HK lifetime number", HKHomeReturnPermit, "H12345678", "H12345678", -1},
	{"HK all zeros", HKHomeReturnPermit, "H00000000", "H00000000", -1},
	{"HK 1999 card", HKHomeReturnPermit, "H1234567801", "H12345678", 1},
	{"HK 1999 card, renewal 00", HKHomeReturnPermit, "H1234567800", "H12345678", 0},
	{"HK 1999 card, renewal 99", HKHomeReturnPermit, "H9876543299", "H98765432", 99},
	{"HK non-Chinese holder", HKHomeReturnPermit, "HA1234567", "HA1234567", -1},
	{"MO lifetime number", MOHomeReturnPermit, "M12345678", "M12345678", -1},
	{"MO 1999 card", MOHomeReturnPermit, "M1234567803", "M12345678", 3},
	{"MO non-Chinese holder", MOHomeReturnPermit, "MA7654321", "MA7654321", -1},
	{"TW lifetime number", TWTravelPermit, "12345678", "12345678", -1},
	{"TW leading zeros", TWTravelPermit, "00012345", "00012345", -1},

	// The letter must be the type's.
	{"HK type, M number", HKHomeReturnPermit, "M12345678", "", -1},
	{"HK type, M 1999 card", HKHomeReturnPermit, "M1234567801", "", -1},
	{"HK type, MA number", HKHomeReturnPermit, "MA1234567", "", -1},
	{"MO type, H number", MOHomeReturnPermit, "H12345678", "", -1},
	{"MO type, H 1999 card", MOHomeReturnPermit, "H1234567801", "", -1},
	{"MO type, HA number", MOHomeReturnPermit, "HA1234567", "", -1},
	{"TW type, H number", TWTravelPermit, "H12345678", "", -1},
	{"TW type, M number", TWTravelPermit, "M12345678", "", -1},
	{"HK type, TW number", HKHomeReturnPermit, "12345678", "", -1},
	{"MO type, TW number", MOHomeReturnPermit, "12345678", "", -1},
	{"other letter", HKHomeReturnPermit, "A12345678", "", -1},
	{"HB prefix", HKHomeReturnPermit, "HB1234567", "", -1},
	{"HM prefix", HKHomeReturnPermit, "HM1234567", "", -1},
	{"unknown type", DocumentType(0), "H12345678", "", -1},
	{"unknown type 4", DocumentType(4), "12345678", "", -1},

	// Case: callers upper-case input themselves; the parser is strict.
	{"lowercase h", HKHomeReturnPermit, "h12345678", "", -1},
	{"lowercase m", MOHomeReturnPermit, "m12345678", "", -1},
	{"lowercase ha", HKHomeReturnPermit, "ha1234567", "", -1},
	{"mixed case Ha", HKHomeReturnPermit, "Ha1234567", "", -1},
	{"lowercase 1999 card", HKHomeReturnPermit, "h1234567801", "", -1},

	// Spaces and other characters.
	{"leading space", HKHomeReturnPermit, " H12345678", "", -1},
	{"trailing space", HKHomeReturnPermit, "H12345678 ", "", -1},
	{"trailing newline", HKHomeReturnPermit, "H12345678\n", "", -1},
	{"inner space", HKHomeReturnPermit, "H1234 5678", "", -1},
	{"TW trailing newline", TWTravelPermit, "12345678\n", "", -1},
	{"TW inner dash", TWTravelPermit, "1234-5678", "", -1},
	{"NUL byte", HKHomeReturnPermit, "H1234567\x008", "", -1},
	{"full-width digits", HKHomeReturnPermit, "H１２３４５６７８", "", -1},
	{"full-width letter", HKHomeReturnPermit, "Ｈ12345678", "", -1},
	{"TW full-width digits", TWTravelPermit, "１２３４５６７８", "", -1},
	{"Arabic-Indic digits", TWTravelPermit, "١٢٣٤٥٦٧٨", "", -1},

	// Empty, short and long.
	{"HK empty", HKHomeReturnPermit, "", "", -1},
	{"MO empty", MOHomeReturnPermit, "", "", -1},
	{"TW empty", TWTravelPermit, "", "", -1},
	{"letter only", HKHomeReturnPermit, "H", "", -1},
	{"7 digits", HKHomeReturnPermit, "H1234567", "", -1},
	{"9 digits", HKHomeReturnPermit, "H123456789", "", -1},
	{"11 digits", HKHomeReturnPermit, "H12345678012", "", -1},
	{"HA with 6 digits", HKHomeReturnPermit, "HA123456", "", -1},
	{"HA with 8 digits", HKHomeReturnPermit, "HA12345678", "", -1},
	{"HA 1999-style", HKHomeReturnPermit, "HA123456701", "", -1},
	{"TW 7 digits", TWTravelPermit, "1234567", "", -1},
	{"TW 9 digits", TWTravelPermit, "123456789", "", -1},
	{"TW 10 digits", TWTravelPermit, "1234567801", "", -1},
	{"very long", HKHomeReturnPermit, "H" + strings.Repeat("1", 100), "", -1},
}

func TestParseTravelPermitNumber(t *testing.T) {
	for _, tc := range travelPermitNumberCases {
		t.Run(tc.name, func(t *testing.T) {
			lifetime, renewal, err := ParseTravelPermitNumber(tc.typ, tc.printed)
			if tc.lifetime == "" {
				if err == nil {
					t.Fatalf("ParseTravelPermitNumber(%v, %q) = %q, %d; want refusal", tc.typ, tc.printed, lifetime, renewal)
				}
				if ErrorCode(err) != ECodeInvalid || lifetime != "" {
					t.Fatalf("ParseTravelPermitNumber(%v, %q) = %q, %v; want \"\" and code %s", tc.typ, tc.printed, lifetime, err, ECodeInvalid)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTravelPermitNumber(%v, %q): %v", tc.typ, tc.printed, err)
			}
			if lifetime != tc.lifetime || renewal != tc.renewal {
				t.Fatalf("ParseTravelPermitNumber(%v, %q) = %q, %d; want %q, %d", tc.typ, tc.printed, lifetime, renewal, tc.lifetime, tc.renewal)
			}
		})
	}
}

// specTravelPermitRE is §7 spelled out per document type, written from the
// spec rather than copied from document.go.
var specTravelPermitRE = map[DocumentType]*regexp.Regexp{
	HKHomeReturnPermit: regexp.MustCompile(`^H[0-9]{8}$|^H[0-9]{10}$|^HA[0-9]{7}$`),
	MOHomeReturnPermit: regexp.MustCompile(`^M[0-9]{8}$|^M[0-9]{10}$|^MA[0-9]{7}$`),
	TWTravelPermit:     regexp.MustCompile(`^[0-9]{8}$`),
}

func FuzzParseTravelPermitNumber(f *testing.F) {
	for _, tc := range travelPermitNumberCases {
		f.Add(int(tc.typ), tc.printed)
	}
	f.Fuzz(func(t *testing.T, typ int, printed string) {
		dt := DocumentType(typ)
		lifetime, renewal, err := ParseTravelPermitNumber(dt, printed)
		re := specTravelPermitRE[dt]
		if want := re != nil && re.MatchString(printed); want != (err == nil) {
			t.Fatalf("ParseTravelPermitNumber(%d, %q) = %q, %d, %v; spec says accepted=%v", typ, printed, lifetime, renewal, err, want)
		}
		if err != nil {
			if ErrorCode(err) != ECodeInvalid {
				t.Fatalf("refusal with code %q, want %q", ErrorCode(err), ECodeInvalid)
			}
			return
		}
		// The printed number is the lifetime number, or for a 1999 card the
		// lifetime number and the 2-digit renewal count.
		printedAgain := lifetime
		if renewal != -1 {
			if renewal < 0 || renewal > 99 {
				t.Fatalf("renewal %d out of range", renewal)
			}
			printedAgain += fmt.Sprintf("%02d", renewal)
		}
		if printedAgain != printed {
			t.Fatalf("%q parsed to %q, %d, which prints as %q", printed, lifetime, renewal, printedAgain)
		}
		// A lifetime number is itself a valid number of the type.
		l2, r2, err := ParseTravelPermitNumber(dt, lifetime)
		if err != nil || l2 != lifetime || r2 != -1 {
			t.Fatalf("lifetime %q re-parsed to %q, %d, %v", lifetime, l2, r2, err)
		}
	})
}

func TestCheckCharacter(t *testing.T) {
	for _, tc := range []struct {
		first17 string
		want    byte // 0: refused
	}{
		{"11010519491231002", 'X'}, // spec/formats.md §7's example
		{"81000019900101001", '9'},
		{"82000020000229002", '1'},
		{"83000019851231123", '4'},
		{"81000019900101006", 'X'},
		{"81000019700615004", '6'},
		{"00000000000000000", '1'}, // sum 0 indexes the first character
		{"1101051949123100", 0},    // 16 digits
		{"110105194912310021", 0},  // 18 digits
		{"", 0},
		{"1101051949123100X", 0},
		{"11010519491231 02", 0},
		{"１1010519491231002", 0}, // full-width digit: 19 bytes, still refused
	} {
		got, ok := CheckCharacter(tc.first17)
		if tc.want == 0 {
			if ok {
				t.Errorf("CheckCharacter(%q) = %c, true; want refusal", tc.first17, got)
			}
			continue
		}
		if !ok || got != tc.want {
			t.Errorf("CheckCharacter(%q) = %q, %v; want %q", tc.first17, got, ok, tc.want)
		}
		if indep := mod112(tc.first17); indep != string(tc.want) {
			t.Errorf("test table disagrees with the independent MOD 11-2: %s%s", tc.first17, indep)
		}
	}
}

// TestCheckCharacterAgrees compares CheckCharacter with the independent
// computation over numbers that exercise every check value.
func TestCheckCharacterAgrees(t *testing.T) {
	seen := map[byte]bool{}
	for seq := 0; seq < 1000; seq += 7 {
		first := fmt.Sprintf("8100001990010%04d", seq)
		got, ok := CheckCharacter(first)
		if !ok || string(got) != mod112(first) {
			t.Fatalf("CheckCharacter(%q) = %q, %v; want %s", first, got, ok, mod112(first))
		}
		seen[got] = true
	}
	if len(seen) != 11 {
		t.Fatalf("only %d of the 11 check characters exercised", len(seen))
	}
}

// residenceCases are residence permit numbers checked against the holder of
// validRecord (a Hong Kong man born 1990-01-01) unless edit changes it. want
// lists the expected problems of the residence permit number.
var residenceCases = []struct {
	name   string
	number string
	edit   func(*Person)
	want   []string
}{
	{"HK male", "810000199001010019", nil, nil},
	{"HK male, built", rpn("810000", "19900101", "999"), nil, nil},
	{"HK female with X check", "81000019900101006X", func(p *Person) { p.Sex = Female }, nil},
	{"MO female, leap day", "820000200002290021", func(p *Person) {
		p.Region, p.Sex, p.BirthDate = RegionMO, Female, Date{2000, 2, 29}
	}, nil},
	{"TW male", "830000198512311234", func(p *Person) {
		p.Region, p.BirthDate = RegionTW, Date{1985, 12, 31}
	}, nil},
	{"TW female with X check", "83000019851231008X", func(p *Person) {
		p.Region, p.Sex, p.BirthDate = RegionTW, Female, Date{1985, 12, 31}
	}, nil},
	{"sequence 000 is even: female", rpn("810000", "19900101", "000"), func(p *Person) { p.Sex = Female }, nil},

	// Check character.
	{"wrong check digit", "810000199001010018", nil, []string{"number check_character"}},
	{"X where a digit is due", "81000019900101001X", nil, []string{"number check_character"}},
	{"digit where X is due", "810000199001010060", func(p *Person) { p.Sex = Female }, []string{"number check_character"}},
	{"lowercase x is refused", "81000019900101006x", func(p *Person) { p.Sex = Female }, []string{"number number_invalid"}},
	{"spec example is not a residence permit", "11010519491231002X", nil, []string{"number number_invalid"}},

	// Region prefix.
	{"MO prefix, HK holder", rpn("820000", "19900101", "001"), nil, []string{"number region_mismatch"}},
	{"TW prefix, HK holder", rpn("830000", "19900101", "001"), nil, []string{"number region_mismatch"}},
	{"HK prefix, MO holder", rpn("810000", "19900101", "001"), func(p *Person) { p.Region = RegionMO }, []string{"number region_mismatch"}},
	{"HK prefix, TW holder", rpn("810000", "19900101", "001"), func(p *Person) { p.Region = RegionTW }, []string{"number region_mismatch"}},
	{"unknown prefix 84", rpn("840000", "19900101", "001"), nil, []string{"number number_invalid"}},
	{"prefix 810001", rpn("810001", "19900101", "001"), nil, []string{"number number_invalid"}},
	{"mainland ID prefix", rpn("110105", "19900101", "001"), nil, []string{"number number_invalid"}},

	// Birth date.
	{"other birth date", rpn("810000", "19900102", "001"), nil, []string{"number birth_date_mismatch"}},
	{"birth year off", rpn("810000", "19910101", "001"), nil, []string{"number birth_date_mismatch"}},
	{"February 30", rpn("810000", "19900230", "001"), nil, []string{"number birth_date_invalid"}},
	{"February 29, not a leap year", rpn("810000", "19010229", "001"), nil, []string{"number birth_date_invalid"}},
	{"February 29, 1900 is not a leap year", rpn("810000", "19000229", "001"), nil, []string{"number birth_date_invalid"}},
	{"month 13", rpn("810000", "19901301", "001"), nil, []string{"number birth_date_invalid"}},
	{"month 00", rpn("810000", "19900001", "001"), nil, []string{"number birth_date_invalid"}},
	{"day 00", rpn("810000", "19900100", "001"), nil, []string{"number birth_date_invalid"}},
	{"April 31", rpn("810000", "19900431", "001"), nil, []string{"number birth_date_invalid"}},

	// Sequence parity.
	{"even sequence, male holder", rpn("810000", "19900101", "002"), nil, []string{"number sex_mismatch"}},
	{"odd sequence, female holder", rpn("810000", "19900101", "001"), func(p *Person) { p.Sex = Female }, []string{"number sex_mismatch"}},

	// Shape.
	{"empty", "", nil, []string{"number number_invalid"}},
	{"17 characters", "81000019900101001", nil, []string{"number number_invalid"}},
	{"19 characters", "8100001990010100190", nil, []string{"number number_invalid"}},
	{"leading space", " 810000199001010019", nil, []string{"number number_invalid"}},
	{"trailing newline", "810000199001010019\n", nil, []string{"number number_invalid"}},
	{"letter in sequence", "8100001990010100A9", nil, []string{"number number_invalid"}},
	{"full-width digits", "８１００００199001010019", nil, []string{"number number_invalid"}},

	// Several at once: every mismatch is reported.
	{"every mismatch", rpn("820000", "19900102", "002"), nil,
		[]string{"number region_mismatch", "number birth_date_mismatch", "number sex_mismatch"}},
	{"mismatches and a wrong check", "820000199001020020", nil,
		[]string{"number check_character", "number region_mismatch", "number birth_date_mismatch", "number sex_mismatch"}},
}

func TestResidencePermitNumber(t *testing.T) {
	for _, tc := range residenceCases {
		t.Run(tc.name, func(t *testing.T) {
			r := validRecord()
			if tc.edit != nil {
				tc.edit(&r.Person)
			}
			// Keep the travel permit consistent with the holder's region so
			// that only the residence permit can be at fault.
			switch r.Person.Region {
			case RegionMO:
				r.TravelPermits[0].Type, r.TravelPermits[0].Number = MOHomeReturnPermit, "M12345678"
			case RegionTW:
				r.TravelPermits[0].Type, r.TravelPermits[0].Number = TWTravelPermit, "12345678"
			}
			r.ResidencePermit.Number = tc.number
			var want []string
			for _, w := range tc.want {
				want = append(want, "residence_permit."+w)
			}
			checkProblems(t, r.Validate(), want...)
		})
	}
}

// specResidenceOK is §7's residence permit number rule without a holder,
// written independently of document.go: shape, prefix, a real date and the
// MOD 11-2 check character.
func specResidenceOK(s string) bool {
	if len(s) != 18 || (s[:6] != "810000" && s[:6] != "820000" && s[:6] != "830000") {
		return false
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if !calendarDate(s[6:10], s[10:12], s[12:14]) {
		return false
	}
	return s[17:] == mod112(s[:17])
}

func FuzzResidencePermitNumber(f *testing.F) {
	for _, tc := range residenceCases {
		f.Add(tc.number)
	}
	f.Fuzz(func(t *testing.T, number string) {
		rp := ResidencePermit{Number: number, IssuedOn: Date{2022, 1, 10}, ExpiresOn: Date{2027, 1, 9}, Status: StatusValid}
		var ps problems
		rp.validate(&ps, "", nil)
		want := specResidenceOK(number)
		if (len(ps) == 0) != want {
			t.Fatalf("%q: problems %v; spec says valid=%v", number, ps, want)
		}
		if !want {
			return
		}
		// Round trip: the holder the number describes agrees with it, and
		// one of the other sex does not.
		birth, err := ParseDate(number[6:10] + "-" + number[10:12] + "-" + number[12:14])
		if err != nil {
			t.Fatal(err)
		}
		holder := &Person{
			Region:    map[string]Region{"81": RegionHK, "82": RegionMO, "83": RegionTW}[number[:2]],
			BirthDate: birth,
			Sex:       Female,
		}
		if (number[16]-'0')%2 == 1 {
			holder.Sex = Male
		}
		// The permit's dates must not precede the birth date the number
		// carries, which may lie anywhere from year 0000 to 9999.
		rp.IssuedOn, rp.ExpiresOn = birth, birth.AddDays(1)
		ps = nil
		if rp.validate(&ps, "", holder); len(ps) != 0 {
			t.Fatalf("%q with its own holder %+v: %v", number, holder, ps)
		}
		holder.Sex = 3 - holder.Sex
		ps = nil
		if rp.validate(&ps, "", holder); len(ps) != 1 || ps[0].Code != "sex_mismatch" {
			t.Fatalf("%q with a holder of the other sex: %v", number, ps)
		}
	})
}

func TestRecordValidate(t *testing.T) {
	tp := func(r *Record) *TravelPermit { return &r.TravelPermits[0] }
	cases := []struct {
		name string
		edit func(*Record)
		want []string
	}{
		{"valid", func(r *Record) {}, nil},
		{"no residence permit", func(r *Record) { r.ResidencePermit = nil }, nil},
		{"non-Chinese holder", func(r *Record) { r.Person.Name = ""; tp(r).Number = "HA1234567" }, nil},
		{"MO resident, M permit", func(r *Record) {
			r.Person.Region, r.ResidencePermit = RegionMO, nil
			tp(r).Type, tp(r).Number = MOHomeReturnPermit, "M12345678"
		}, nil},
		{"TW resident, TW permit", func(r *Record) {
			r.Person.Region, r.ResidencePermit = RegionTW, nil
			tp(r).Type, tp(r).Number = TWTravelPermit, "12345678"
		}, nil},

		// Region: H→HK, M→MO, Taiwan permit→TW.
		{"HK resident, MO permit", func(r *Record) {
			tp(r).Type, tp(r).Number = MOHomeReturnPermit, "M12345678"
		}, []string{"travel_permits[0].type region_mismatch"}},
		{"HK resident, TW permit", func(r *Record) {
			tp(r).Type, tp(r).Number = TWTravelPermit, "12345678"
		}, []string{"travel_permits[0].type region_mismatch"}},
		{"MO resident, HK permit", func(r *Record) {
			r.Person.Region, r.ResidencePermit = RegionMO, nil
		}, []string{"travel_permits[0].type region_mismatch"}},
		{"TW resident, HK permit", func(r *Record) {
			r.Person.Region, r.ResidencePermit = RegionTW, nil
		}, []string{"travel_permits[0].type region_mismatch"}},
		{"HK permit type, M number", func(r *Record) { tp(r).Number = "M12345678" },
			[]string{"travel_permits[0].number number_invalid"}},
		{"HK permit type, TW number", func(r *Record) { tp(r).Number = "12345678" },
			[]string{"travel_permits[0].number number_invalid"}},
		{"TW permit type, H number", func(r *Record) {
			r.Person.Region, r.ResidencePermit = RegionTW, nil
			tp(r).Type = TWTravelPermit
		}, []string{"travel_permits[0].number number_invalid"}},
		{"unknown permit type", func(r *Record) { tp(r).Type = 0 },
			[]string{"travel_permits[0].type document_type_invalid"}},
		{"invalid region reports only the region", func(r *Record) { r.Person.Region = "CN" },
			[]string{"person.region region_invalid"}},

		// Renewal count.
		{"renewal -1", func(r *Record) { tp(r).Renewal = -1 }, []string{"travel_permits[0].renewal renewal_invalid"}},
		{"renewal 100", func(r *Record) { tp(r).Renewal = 100 }, []string{"travel_permits[0].renewal renewal_invalid"}},
		{"renewal 99", func(r *Record) { tp(r).Renewal = 99 }, nil},
		{"1999 card agreeing with the renewal", func(r *Record) { tp(r).Number = "H1234567802" }, nil},
		{"1999 card disagreeing with the renewal", func(r *Record) { tp(r).Number = "H1234567803" },
			[]string{"travel_permits[0].renewal renewal_mismatch"}},

		// Dates: expiry after issue, issue not before birth.
		{"expires the day it is issued", func(r *Record) { tp(r).ExpiresOn = tp(r).IssuedOn },
			[]string{"travel_permits[0].expires_on dates_out_of_order"}},
		{"expires before it is issued", func(r *Record) { tp(r).ExpiresOn = Date{2021, 2, 28} },
			[]string{"travel_permits[0].expires_on dates_out_of_order"}},
		{"expires the day after issue", func(r *Record) { tp(r).ExpiresOn = Date{2021, 3, 2} }, nil},
		{"no issue date", func(r *Record) { tp(r).IssuedOn = Date{} },
			[]string{"travel_permits[0].issued_on date_missing"}},
		{"no expiry date", func(r *Record) { tp(r).ExpiresOn = Date{} },
			[]string{"travel_permits[0].expires_on date_missing"}},
		{"issued before birth", func(r *Record) { tp(r).IssuedOn = Date{1989, 12, 31} },
			[]string{"travel_permits[0].issued_on dates_out_of_order"}},
		{"issued on the birth date", func(r *Record) { tp(r).IssuedOn = Date{1990, 1, 1} }, nil},
		{"residence permit expires before issue", func(r *Record) { r.ResidencePermit.ExpiresOn = Date{2022, 1, 9} },
			[]string{"residence_permit.expires_on dates_out_of_order"}},
		{"residence permit without dates", func(r *Record) { r.ResidencePermit.IssuedOn, r.ResidencePermit.ExpiresOn = Date{}, Date{} },
			[]string{"residence_permit.issued_on date_missing", "residence_permit.expires_on date_missing"}},
		{"residence permit issued before birth", func(r *Record) { r.ResidencePermit.IssuedOn = Date{1980, 1, 1} },
			[]string{"residence_permit.issued_on dates_out_of_order"}},

		// Statuses.
		{"reported lost", func(r *Record) { tp(r).Status = StatusReportedLost }, nil},
		{"cancelled", func(r *Record) { tp(r).Status = StatusCancelled }, nil},
		{"no status", func(r *Record) { tp(r).Status = "" }, []string{"travel_permits[0].status status_invalid"}},
		{"expired is not a status", func(r *Record) { tp(r).Status = "expired" }, []string{"travel_permits[0].status status_invalid"}},
		{"upper-case status", func(r *Record) { tp(r).Status = "VALID" }, []string{"travel_permits[0].status status_invalid"}},
		{"residence permit cancelled", func(r *Record) { r.ResidencePermit.Status = StatusCancelled }, nil},
		{"residence permit without status", func(r *Record) { r.ResidencePermit.Status = "" },
			[]string{"residence_permit.status status_invalid"}},

		// Several permits.
		{"no travel permit", func(r *Record) { r.TravelPermits = nil }, []string{"travel_permits travel_permit_missing"}},
		{"two permits of the region", func(r *Record) {
			r.TravelPermits = append(r.TravelPermits, r.TravelPermits[0])
			r.TravelPermits[1].Number = "HA1234567"
		}, nil},
		{"same permit twice", func(r *Record) { r.TravelPermits = append(r.TravelPermits, r.TravelPermits[0]) },
			[]string{"travel_permits[1].number duplicate"}},
		{"same permit as 1999 card and lifetime number", func(r *Record) {
			r.TravelPermits = append(r.TravelPermits, r.TravelPermits[0])
			r.TravelPermits[1].Number = "H1234567802"
		}, []string{"travel_permits[1].number duplicate"}},
		{"second permit of another region", func(r *Record) {
			r.TravelPermits = append(r.TravelPermits, r.TravelPermits[0])
			r.TravelPermits[1].Type, r.TravelPermits[1].Number = MOHomeReturnPermit, "M12345678"
		}, []string{"travel_permits[1].type region_mismatch"}},

		// Person problems are reported under person.
		{"person without phone", func(r *Record) { r.Person.Phone = "" }, []string{"person.phone phone_invalid"}},
		{"person and permit problems together", func(r *Record) {
			r.Person.Sex = 0
			tp(r).Status = ""
		}, []string{"person.sex sex_invalid", "travel_permits[0].status status_invalid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := validRecord()
			tc.edit(&r)
			checkProblems(t, r.Validate(), tc.want...)
		})
	}
}

// TestRecordValidateNormalizes checks that a 1999 card's printed number is
// stored as its lifetime number.
func TestRecordValidateNormalizes(t *testing.T) {
	r := validRecord()
	r.TravelPermits[0].Number = "H1234567802"
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := r.TravelPermits[0].Number; got != "H12345678" {
		t.Fatalf("Number = %q after Validate, want the lifetime number H12345678", got)
	}
	if got := r.TravelPermits[0].Key(); got != "hk:H12345678" {
		t.Fatalf("Key = %q", got)
	}
}

func TestExpired(t *testing.T) {
	exp := Date{2030, 5, 31}
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2030, 5, 31, 0, 0, 0, 0, ChinaTime), false},
		{time.Date(2030, 5, 31, 23, 59, 59, 999999999, ChinaTime), false},
		{time.Date(2030, 6, 1, 0, 0, 0, 0, ChinaTime), true},
		{time.Date(2030, 5, 31, 15, 59, 59, 0, time.UTC), false}, // 23:59:59 in China
		{time.Date(2030, 5, 31, 16, 0, 0, 0, time.UTC), true},    // midnight in China
		{time.Date(2030, 5, 31, 12, 0, 0, 0, time.FixedZone("HST", -10*3600)), true},
		{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		tp := TravelPermit{ExpiresOn: exp}
		rp := ResidencePermit{ExpiresOn: exp}
		if got := tp.Expired(tc.at); got != tc.want {
			t.Errorf("TravelPermit expiring %s: Expired(%s) = %v, want %v", exp, tc.at, got, tc.want)
		}
		if got := rp.Expired(tc.at); got != tc.want {
			t.Errorf("ResidencePermit expiring %s: Expired(%s) = %v, want %v", exp, tc.at, got, tc.want)
		}
	}
}

func TestTravelPermitKey(t *testing.T) {
	for _, tc := range []struct {
		tp   TravelPermit
		want string
	}{
		{TravelPermit{Type: HKHomeReturnPermit, Number: "H12345678"}, "hk:H12345678"},
		{TravelPermit{Type: MOHomeReturnPermit, Number: "MA1234567"}, "mo:MA1234567"},
		{TravelPermit{Type: TWTravelPermit, Number: "12345678"}, "tw:12345678"},
	} {
		if got := tc.tp.Key(); got != tc.want {
			t.Errorf("Key() = %q, want %q", got, tc.want)
		}
	}
}
