package credential

import (
	"math/rand/v2"
	"testing"
)

// benchEntries is the scale the status list goals are set at.
const benchEntries = 10_000_000

// benchList returns a 10M-entry list with a given share of entries (per
// thousand) revoked or suspended at random places.
func benchList(b *testing.B, perMille int) *StatusList {
	b.Helper()
	l, err := NewStatusList(benchEntries)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range benchEntries / 1000 * perMille {
		l.Set(r.Uint64N(benchEntries), StatusValue(1+r.IntN(2)))
	}
	return l
}

// BenchmarkStatusListPublish is re-publishing a 10M-entry list: compress and
// sign, in the CWT form, at 0.1% and 2% of entries changed. Goal: < 1 s.
func BenchmarkStatusListPublish(b *testing.B) {
	f := newStatusFixture(b)
	for _, pm := range []int{1, 20} {
		name := map[int]string{1: "0.1%", 20: "2%"}[pm]
		b.Run(name, func(b *testing.B) {
			c := f.claims
			c.List = benchList(b, pm)
			var size int
			for b.Loop() {
				tok, err := SignStatusListCWT(c, nil, f.kid, f.key)
				if err != nil {
					b.Fatal(err)
				}
				size = len(tok)
			}
			b.ReportMetric(float64(size), "token-bytes")
		})
	}
}

// BenchmarkStatusListGet is one lookup in a decoded 10M-entry list. Goal:
// < 100 ns.
func BenchmarkStatusListGet(b *testing.B) {
	l := benchList(b, 20)
	idx := make([]uint64, 4096)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range idx {
		idx[i] = r.Uint64N(benchEntries)
	}
	var sink StatusValue
	i := 0
	for b.Loop() {
		v, _ := l.Get(idx[i&4095])
		sink ^= v
		i++
	}
	_ = sink
}

// BenchmarkParseStatusListCWT is a verifier taking in a 10M-entry list:
// parse, verify and decompress. list-bytes is the memory the decoded list
// keeps (goal ≈ 2.5 MB).
func BenchmarkParseStatusListCWT(b *testing.B) {
	f := newStatusFixture(b)
	c := f.claims
	c.List = benchList(b, 20)
	tok, err := SignStatusListCWT(c, nil, f.kid, f.key)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var kept int
	for b.Loop() {
		p, err := ParseStatusListCWT(tok, f.keys)
		if err != nil {
			b.Fatal(err)
		}
		kept = cap(p.List.Bytes())
	}
	b.ReportMetric(float64(kept), "list-bytes")
}
