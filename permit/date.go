package permit

import (
	"fmt"
	"time"
)

// ChinaTime is China Standard Time, UTC+08:00. It is a fixed zone on purpose:
// the mainland has kept no daylight saving since 1991, and a fixed zone needs
// no time zone database on the machine.
var ChinaTime = time.FixedZone("CST", 8*60*60)

// Date is a calendar date with no time of day, as printed on a permit.
// The zero Date means "no date".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses "YYYY-MM-DD" strictly: the text must round-trip.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return Date{}, fmt.Errorf("%q is not a date of the form YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// DateOf returns the calendar date of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// Today returns the calendar date in China at instant now.
func Today(now time.Time) Date { return DateOf(now.In(ChinaTime)) }

// String returns the date as "YYYY-MM-DD", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Start is the first instant of the date in China.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, ChinaTime) }

// End is the first instant after the date in China: a document "valid until"
// d is valid at every instant before d.End().
func (d Date) End() time.Time { return d.AddDays(1).Start() }

// AddDays returns the date n days after d.
func (d Date) AddDays(n int) Date { return DateOf(d.Start().AddDate(0, 0, n)) }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.Start().Before(e.Start()) }

// After reports whether d is later than e.
func (d Date) After(e Date) bool { return d.Start().After(e.Start()) }

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; empty text is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
