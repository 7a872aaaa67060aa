package permit

import (
	"encoding/json"
	"testing"
	"time"
)

// dateCases are ParseDate inputs; a zero want means the text is refused.
var dateCases = []struct {
	in   string
	want Date
}{
	{"2030-05-31", Date{2030, 5, 31}},
	{"2024-02-29", Date{2024, 2, 29}}, // leap year
	{"2000-02-29", Date{2000, 2, 29}}, // divisible by 400
	{"1900-01-01", Date{1900, 1, 1}},
	{"1999-12-31", Date{1999, 12, 31}},
	{"9999-12-31", Date{9999, 12, 31}},

	{"2023-02-29", Date{}}, // not a leap year
	{"1900-02-29", Date{}}, // divisible by 100, not by 400
	{"2024-02-30", Date{}},
	{"2024-04-31", Date{}},
	{"2024-13-01", Date{}},
	{"2024-00-10", Date{}},
	{"2024-01-00", Date{}},
	{"2024-01-32", Date{}},
	{"2024-1-5", Date{}}, // must be zero-padded
	{"24-01-05", Date{}},
	{"02024-01-05", Date{}},
	{"2024/01/05", Date{}},
	{"20240105", Date{}},
	{"2024-01-05T00:00:00Z", Date{}},
	{" 2024-01-05", Date{}},
	{"2024-01-05 ", Date{}},
	{"2024-01-05\n", Date{}},
	{"２０２４-01-05", Date{}}, // full-width digits
	{"+2024-01-05", Date{}},
	{"-2024-01-05", Date{}},
	{"", Date{}},
}

func TestParseDate(t *testing.T) {
	for _, tc := range dateCases {
		got, err := ParseDate(tc.in)
		if tc.want.IsZero() {
			if err == nil {
				t.Errorf("ParseDate(%q) = %v; want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if s := got.String(); s != tc.in {
			t.Errorf("ParseDate(%q).String() = %q", tc.in, s)
		}
	}
}

// calendarDate reports whether the 4-, 2- and 2-character strings are a
// proleptic Gregorian date, by the leap-year rule rather than package time.
func calendarDate(y, m, d string) bool {
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	year, ok1 := num(y)
	month, ok2 := num(m)
	day, ok3 := num(d)
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	return day <= days
}

func FuzzParseDate(f *testing.F) {
	for _, tc := range dateCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		want := len(s) == 10 && s[4] == '-' && s[7] == '-' && calendarDate(s[:4], s[5:7], s[8:])
		if (err == nil) != want {
			t.Fatalf("ParseDate(%q) = %v, %v; want accepted=%v", s, d, err, want)
		}
		if err != nil {
			return
		}
		if got := d.String(); got != s {
			t.Fatalf("ParseDate(%q).String() = %q", s, got)
		}
		var u Date
		if err := u.UnmarshalText([]byte(s)); err != nil || u != d {
			t.Fatalf("UnmarshalText(%q) = %v, %v; want %v", s, u, err, d)
		}
		if got := d.AddDays(1).AddDays(-1); got != d {
			t.Fatalf("%v +1 -1 day = %v", d, got)
		}
		if !d.End().Equal(d.AddDays(1).Start()) {
			t.Fatalf("%v ends at %v, not at the next day's start", d, d.End())
		}
	})
}

func TestDateString(t *testing.T) {
	for _, tc := range []struct {
		d    Date
		want string
	}{
		{Date{}, ""},
		{Date{2030, 5, 31}, "2030-05-31"},
		{Date{1, 1, 1}, "0001-01-01"},
		{Date{1990, 1, 1}, "1990-01-01"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.d, got, tc.want)
		}
		b, _ := tc.d.MarshalText()
		if string(b) != tc.want {
			t.Errorf("%#v.MarshalText() = %q, want %q", tc.d, b, tc.want)
		}
	}
}

func TestDateText(t *testing.T) {
	var s struct{ D Date }
	if err := json.Unmarshal([]byte(`{"D":"2024-02-29"}`), &s); err != nil || s.D != (Date{2024, 2, 29}) {
		t.Fatalf("unmarshal: %v, %v", s.D, err)
	}
	if b, err := json.Marshal(s); err != nil || string(b) != `{"D":"2024-02-29"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"D":""}`), &s); err != nil || !s.D.IsZero() {
		t.Fatalf("empty text: %v, %v; want the zero Date", s.D, err)
	}
	s.D = Date{2024, 1, 1}
	if err := json.Unmarshal([]byte(`{"D":"2024-02-30"}`), &s); err == nil {
		t.Fatal("2024-02-30 accepted")
	}
	if s.D != (Date{2024, 1, 1}) {
		t.Fatalf("a refused text changed the Date to %v", s.D)
	}
}

func TestDateEnd(t *testing.T) {
	for _, tc := range []struct {
		d     Date
		start string
		end   string
	}{
		// doc.go's example: good until 2030-06-01T00:00:00+08:00.
		{Date{2030, 5, 31}, "2030-05-31T00:00:00+08:00", "2030-06-01T00:00:00+08:00"},
		{Date{2024, 2, 28}, "2024-02-28T00:00:00+08:00", "2024-02-29T00:00:00+08:00"},
		{Date{2024, 2, 29}, "2024-02-29T00:00:00+08:00", "2024-03-01T00:00:00+08:00"},
		{Date{2023, 2, 28}, "2023-02-28T00:00:00+08:00", "2023-03-01T00:00:00+08:00"},
		{Date{2026, 12, 31}, "2026-12-31T00:00:00+08:00", "2027-01-01T00:00:00+08:00"},
	} {
		start, end := tc.d.Start(), tc.d.End()
		if got := start.Format(time.RFC3339); got != tc.start {
			t.Errorf("%v.Start() = %s, want %s", tc.d, got, tc.start)
		}
		if got := end.Format(time.RFC3339); got != tc.end {
			t.Errorf("%v.End() = %s, want %s", tc.d, got, tc.end)
		}
		// The same instant seen from UTC: 16:00 the day before.
		want, _ := time.Parse(time.RFC3339, tc.end)
		if !end.UTC().Equal(want) || end.UTC().Hour() != 16 {
			t.Errorf("%v.End() in UTC = %v", tc.d, end.UTC())
		}
		if d := end.Sub(start); d != 24*time.Hour {
			t.Errorf("%v lasts %v, want 24h (China time has no DST)", tc.d, d)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	for _, tc := range []struct {
		d    Date
		n    int
		want Date
	}{
		{Date{2024, 2, 28}, 1, Date{2024, 2, 29}},
		{Date{2024, 2, 28}, 2, Date{2024, 3, 1}},
		{Date{2023, 2, 28}, 1, Date{2023, 3, 1}},
		{Date{2027, 1, 1}, -1, Date{2026, 12, 31}},
		{Date{2026, 11, 25}, 7, Date{2026, 12, 2}},
		{Date{2024, 1, 1}, 366, Date{2025, 1, 1}},
		{Date{2024, 1, 1}, 0, Date{2024, 1, 1}},
	} {
		if got := tc.d.AddDays(tc.n); got != tc.want {
			t.Errorf("%v.AddDays(%d) = %v, want %v", tc.d, tc.n, got, tc.want)
		}
	}
	a, b := Date{2024, 12, 31}, Date{2025, 1, 1}
	if !a.Before(b) || b.Before(a) || a.Before(a) {
		t.Error("Before is wrong")
	}
	if !b.After(a) || a.After(b) || a.After(a) {
		t.Error("After is wrong")
	}
	if !(Date{}).IsZero() || a.IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestTodayAndDateOf(t *testing.T) {
	for _, tc := range []struct {
		at   string
		want Date
	}{
		{"2026-11-30T15:59:59Z", Date{2026, 11, 30}},
		{"2026-11-30T16:00:00Z", Date{2026, 12, 1}}, // midnight in China
		{"2026-12-31T16:00:00Z", Date{2027, 1, 1}},
		{"2026-12-01T07:59:59+08:00", Date{2026, 12, 1}},
		{"2026-11-30T23:00:00-05:00", Date{2026, 12, 1}}, // already noon next day in China
	} {
		at, err := time.Parse(time.RFC3339, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := Today(at); got != tc.want {
			t.Errorf("Today(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
	// DateOf keeps the time's own location.
	at := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
	if got := DateOf(at); got != (Date{2026, 11, 30}) {
		t.Errorf("DateOf(%v) = %v", at, got)
	}
}
