package demo

import (
	"bytes"
	"image/png"
	"reflect"
	"testing"

	"github.com/epermit/epermit/permit"
)

func TestRegistryDeterministicAndValid(t *testing.T) {
	a, b := Registry(1200), Registry(1200)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls differ")
	}
	regions := map[permit.Region]int{}
	permits, residences := map[string]bool{}, map[string]bool{}
	withResidence, noChineseName := 0, 0
	for i := range a {
		r := &a[i]
		if err := r.Validate(); err != nil {
			t.Fatalf("record %d invalid: %v", i, err)
		}
		regions[r.Person.Region]++
		for _, tp := range r.TravelPermits {
			if permits[tp.Key()] {
				t.Fatalf("record %d repeats permit %s", i, tp.Key())
			}
			permits[tp.Key()] = true
		}
		if rp := r.ResidencePermit; rp != nil {
			if residences[rp.Number] {
				t.Fatalf("record %d repeats residence permit %s", i, rp.Number)
			}
			residences[rp.Number] = true
			withResidence++
		}
		if r.Person.Name == "" {
			noChineseName++
		}
		if _, err := png.Decode(bytes.NewReader(r.Person.Portrait)); err != nil {
			t.Fatalf("record %d portrait: %v", i, err)
		}
	}
	for region, lo := range map[permit.Region]int{permit.RegionHK: 550, permit.RegionMO: 120, permit.RegionTW: 300} {
		if regions[region] < lo {
			t.Errorf("%s has %d people, want at least %d", region, regions[region], lo)
		}
	}
	if withResidence < 900 || noChineseName == 0 {
		t.Errorf("%d with residence permits, %d without Chinese names", withResidence, noChineseName)
	}
	first := a[0]
	if first.Person.Name != "陳大文" || first.TravelPermits[0].Number != "H12345678" || first.ResidencePermit == nil {
		t.Errorf("record 0 is %+v", first)
	}
}

func TestSamples(t *testing.T) {
	today := permit.Date{Year: 2026, Month: 11, Day: 25}
	s := Samples(Registry(1200), today)
	if len(s) != 6 {
		t.Fatalf("%d samples, want 6", len(s))
	}
	if s[0].Person.Region != permit.RegionHK || s[1].Person.Region != permit.RegionMO || s[2].Person.Region != permit.RegionTW {
		t.Errorf("regions of the first samples: %s %s %s", s[0].Person.Region, s[1].Person.Region, s[2].Person.Region)
	}
	if s[3].TravelPermits[0].Status != permit.StatusReportedLost || s[4].TravelPermits[0].Status != permit.StatusCancelled ||
		!s[5].TravelPermits[0].ExpiresOn.Before(today) {
		t.Errorf("lost/cancelled/expired samples wrong: %v %v %v", s[3].TravelPermits, s[4].TravelPermits, s[5].TravelPermits)
	}
}

func BenchmarkRegistry100k(b *testing.B) {
	for b.Loop() {
		Registry(100_000)
	}
}
