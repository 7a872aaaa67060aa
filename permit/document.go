package permit

import (
	"regexp"
	"strconv"
	"time"
)

// TravelPermit is a physical travel permit: the Home Return Permit of a Hong
// Kong or Macau resident, or the Mainland Travel Permit of a Taiwan resident.
//
// Number is the lifetime number, which stays the same across renewals; the
// card itself is identified by the number and its renewal count.
type TravelPermit struct {
	Type      DocumentType
	Number    string // lifetime number, e.g. "H12345678"
	Renewal   int    // how many times the card was renewed; a reissued card counts up
	IssuedOn  Date
	ExpiresOn Date // last day of validity
	Status    Status
}

// Number patterns of spec/formats.md §7.
var (
	hrpRE       = regexp.MustCompile(`^([HM])[0-9]{8}$`)             // lifetime number
	hrp1999RE   = regexp.MustCompile(`^([HM])([0-9]{8})([0-9]{2})$`) // 1999 card: lifetime + renewal count
	hrpForeign  = regexp.MustCompile(`^(HA|MA)[0-9]{7}$`)            // non-Chinese holders
	twPermitRE  = regexp.MustCompile(`^[0-9]{8}$`)
	residenceRE = regexp.MustCompile(`^(81|82|83)0000([0-9]{8})([0-9]{3})[0-9X]$`)
)

// ParseTravelPermitNumber checks a travel permit number as printed on a card
// of type t and returns its lifetime number. A 1999 Home Return Permit prints
// the lifetime number followed by the 2-digit renewal count; for those the
// count is returned too, else renewal is -1.
func ParseTravelPermitNumber(t DocumentType, printed string) (lifetime string, renewal int, err error) {
	letter := map[DocumentType]string{HKHomeReturnPermit: "H", MOHomeReturnPermit: "M"}[t]
	switch t {
	case HKHomeReturnPermit, MOHomeReturnPermit:
		if m := hrpRE.FindStringSubmatch(printed); m != nil && m[1] == letter {
			return printed, -1, nil
		}
		if m := hrp1999RE.FindStringSubmatch(printed); m != nil && m[1] == letter {
			n, _ := strconv.Atoi(m[3])
			return m[1] + m[2], n, nil
		}
		if m := hrpForeign.FindStringSubmatch(printed); m != nil && m[1] == letter+"A" {
			return printed, -1, nil
		}
		return "", -1, Errorf(ECodeInvalid, "%q is not a %s Home Return Permit number (%s and 8 digits)", printed, t.Region(), letter)
	case TWTravelPermit:
		if twPermitRE.MatchString(printed) {
			return printed, -1, nil
		}
		return "", -1, Errorf(ECodeInvalid, "%q is not a Taiwan residents' permit number (8 digits)", printed)
	}
	return "", -1, Errorf(ECodeInvalid, "unknown document type")
}

// Expired reports whether the permit's validity has ended at instant now.
func (tp *TravelPermit) Expired(now time.Time) bool { return !now.Before(tp.ExpiresOn.End()) }

// Key is how the registry identifies a travel permit across renewals.
func (tp *TravelPermit) Key() string { return tp.Type.String() + ":" + tp.Number }

func (tp *TravelPermit) validate(ps *problems, prefix string, holder *Person) {
	if !tp.Type.Valid() {
		ps.add(prefix+"type", "document_type_invalid", "must be hk, mo or tw")
	} else {
		lifetime, renewal, err := ParseTravelPermitNumber(tp.Type, tp.Number)
		switch {
		case err != nil:
			ps.add(prefix+"number", "number_invalid", "%s", ErrorMessage(err))
		case lifetime != tp.Number:
			// Stored and exported numbers are lifetime numbers; a 1999 card's
			// printed number is split when it is read (see ParseTravelPermitNumber).
			if renewal != tp.Renewal {
				ps.add(prefix+"renewal", "renewal_mismatch", "the printed number ends in renewal count %02d", renewal)
			}
			tp.Number = lifetime
		}
		if holder != nil && holder.Region.Valid() && tp.Type.Region() != holder.Region {
			ps.add(prefix+"type", "region_mismatch", "a %s permit cannot belong to a %s resident", tp.Type, holder.Region)
		}
	}
	if tp.Renewal < 0 || tp.Renewal > 99 {
		ps.add(prefix+"renewal", "renewal_invalid", "must be 0 to 99")
	}
	validateDates(ps, prefix, tp.IssuedOn, tp.ExpiresOn, holder)
	if !tp.Status.Valid() {
		ps.add(prefix+"status", "status_invalid", "must be valid, reported_lost or cancelled")
	}
}

func validateDates(ps *problems, prefix string, issued, expires Date, holder *Person) {
	if issued.IsZero() {
		ps.add(prefix+"issued_on", "date_missing", "is required")
	}
	if expires.IsZero() {
		ps.add(prefix+"expires_on", "date_missing", "is required")
	}
	if !issued.IsZero() && !expires.IsZero() && !expires.After(issued) {
		ps.add(prefix+"expires_on", "dates_out_of_order", "must be after issued_on")
	}
	if holder != nil && !holder.BirthDate.IsZero() && !issued.IsZero() && issued.Before(holder.BirthDate) {
		ps.add(prefix+"issued_on", "dates_out_of_order", "is before the holder's birth date")
	}
}

// ResidencePermit is a residence permit for Hong Kong, Macau and Taiwan
// residents, whose 18-character number is shaped like a mainland ID number.
type ResidencePermit struct {
	Number    string
	IssuedOn  Date
	ExpiresOn Date
	Status    Status
}

// residencePrefix maps the region to the first two digits of the number.
var residencePrefix = map[Region]string{RegionHK: "81", RegionMO: "82", RegionTW: "83"}

// Expired reports whether the permit's validity has ended at instant now.
func (rp *ResidencePermit) Expired(now time.Time) bool { return !now.Before(rp.ExpiresOn.End()) }

// CheckCharacter returns the ISO 7064 MOD 11-2 check character for the first
// 17 digits of an 18-character ID or residence permit number.
func CheckCharacter(first17 string) (byte, bool) {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	if len(first17) != 17 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := first17[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * weights[i]
	}
	return "10X98765432"[sum%11], true
}

func (rp *ResidencePermit) validate(ps *problems, prefix string, holder *Person) {
	field := prefix + "number"
	m := residenceRE.FindStringSubmatch(rp.Number)
	if m == nil {
		ps.add(field, "number_invalid", "must be 18 characters: 810000, 820000 or 830000, birth date, 3 digits and a check character")
	} else {
		if c, _ := CheckCharacter(rp.Number[:17]); c != rp.Number[17] {
			ps.add(field, "check_character", "check character should be %c", c)
		}
		birth, err := ParseDate(m[2][:4] + "-" + m[2][4:6] + "-" + m[2][6:])
		if err != nil {
			ps.add(field, "birth_date_invalid", "digits 7 to 14 are not a date")
		}
		if holder != nil {
			if holder.Region.Valid() && m[1] != residencePrefix[holder.Region] {
				ps.add(field, "region_mismatch", "prefix %s0000 does not match a %s resident", m[1], holder.Region)
			}
			if err == nil && !holder.BirthDate.IsZero() && birth != holder.BirthDate {
				ps.add(field, "birth_date_mismatch", "birth date %s does not match the holder's", birth)
			}
			seq, _ := strconv.Atoi(m[3])
			if holder.Sex.Valid() && (seq%2 == 1) != (holder.Sex == Male) {
				ps.add(field, "sex_mismatch", "sequence %s is %s, but the holder is %s", m[3], parity(seq), sexWord(holder.Sex))
			}
		}
	}
	validateDates(ps, prefix, rp.IssuedOn, rp.ExpiresOn, holder)
	if !rp.Status.Valid() {
		ps.add(prefix+"status", "status_invalid", "must be valid, reported_lost or cancelled")
	}
}

func parity(n int) string {
	if n%2 == 1 {
		return "odd (male)"
	}
	return "even (female)"
}

func sexWord(s Sex) string {
	if s == Male {
		return "male"
	}
	return "female"
}

// Record is one registry entry: a person with their travel permits and, if
// they have one, their residence permit.
type Record struct {
	Person          Person
	TravelPermits   []TravelPermit
	ResidencePermit *ResidencePermit
}

// Validate checks every field of the record and that its parts agree: the
// permits' region and the residence permit's birth date and sex with the
// person. A 1999-style printed number is normalized to its lifetime number.
// It returns an *Error listing every problem, or nil.
func (r *Record) Validate() error {
	var ps problems
	r.Person.validate(&ps, "person.")
	if len(r.TravelPermits) == 0 {
		ps.add("travel_permits", "travel_permit_missing", "at least one travel permit is required")
	}
	seen := map[string]bool{}
	for i := range r.TravelPermits {
		tp := &r.TravelPermits[i]
		tp.validate(&ps, "travel_permits["+strconv.Itoa(i)+"].", &r.Person)
		if seen[tp.Key()] {
			ps.add("travel_permits["+strconv.Itoa(i)+"].number", "duplicate", "the same permit is listed twice")
		}
		seen[tp.Key()] = true
	}
	if r.ResidencePermit != nil {
		r.ResidencePermit.validate(&ps, "residence_permit.", &r.Person)
	}
	return ps.err("registry record")
}
