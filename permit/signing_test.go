package permit

import (
	"strings"
	"testing"
	"time"
)

func TestCanSign(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	certified := IssuerKey{Kid: "k", Certificate: []byte{1}, CertNotBefore: t0, CertNotAfter: t0.Add(120 * day),
		UsageNotBefore: t0, UsageNotAfter: t0.Add(90 * day)}
	noUsage := certified
	noUsage.UsageNotBefore, noUsage.UsageNotAfter = time.Time{}, time.Time{}
	uncertified := IssuerKey{Kid: "k"}
	// A usage period reaching past the validity is cut to it.
	wide := certified
	wide.UsageNotBefore, wide.UsageNotAfter = t0.Add(-day), t0.Add(200*day)
	for _, tc := range []struct {
		name   string
		k      IssuerKey
		rooted bool
		now    time.Time
		exp    time.Duration // after now
		want   string        // "" for allowed, else a word of the message
	}{
		{"no root: anything goes", uncertified, false, t0, 365 * day, ""},
		{"rooted, no certificate", uncertified, true, t0, day, "no certificate"},
		{"in the usage period", certified, true, t0.Add(10 * day), 7 * day, ""},
		{"at the usage period's start", certified, true, t0, 7 * day, ""},
		{"before the usage period", certified, true, t0.Add(-time.Second), time.Hour, "may sign from"},
		{"at the usage period's end", certified, true, t0.Add(90 * day), time.Hour, "stopped signing"},
		{"credential outlives the certificate", certified, true, t0.Add(89 * day), 31*day + time.Second, "after its certificate"},
		{"credential ends with the certificate", certified, true, t0.Add(89 * day), 31 * day, ""},
		{"no usage period: the validity", noUsage, true, t0.Add(100 * day), 7 * day, ""},
		{"no usage period, validity over", noUsage, true, t0.Add(120 * day), time.Hour, "stopped signing"},
		{"usage wider than validity, before", wide, true, t0.Add(-time.Hour), time.Hour, "may sign from"},
		{"usage wider than validity, after", wide, true, t0.Add(121 * day), time.Hour, "stopped signing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CanSign(&tc.k, tc.rooted, tc.now, tc.now.Add(tc.exp))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CanSign = %v, want allowed", err)
			case tc.want != "" && (ErrorCode(err) != ECodeNotReady || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CanSign = %v (%s), want not_ready saying %q", err, ErrorCode(err), tc.want)
			}
		})
	}
}
