package authority_test

import (
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// BenchmarkStatusListRepublish is a status change followed by the next
// fetch of a list of the default size (1,048,576 entries), per engine: the
// change's transaction, reading the list, compressing it and signing both
// forms. NoChange is a fetch of an unchanged list: one version read.
func BenchmarkStatusListRepublish(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(string(engine), func(b *testing.B) {
			db := storetest.Open(b, engine)
			f := newFixture(b, db, authority.Config{})
			var c *permit.Credential
			for _, r := range f.recs {
				tp := r.TravelPermits[0]
				if tp.Status == permit.StatusValid && !tp.Expired(f.clock.now()) {
					var err error
					if c, err = f.a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &newDevice(b).key.PublicKey); err != nil {
						b.Fatal(err)
					}
					break
				}
			}
			b.Run("Change", func(b *testing.B) {
				i := 0
				for b.Loop() {
					var err error
					if i%2 == 0 {
						_, err = f.a.Suspend(ctx, c.ID, "bench")
					} else {
						_, err = f.a.Reinstate(ctx, c.ID, "bench")
					}
					if err != nil {
						b.Fatal(err)
					}
					i++
					if _, err := f.a.StatusListToken(ctx, c.StatusList, authority.StatusCWT); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("NoChange", func(b *testing.B) {
				for b.Loop() {
					if _, err := f.a.StatusListToken(ctx, c.StatusList, authority.StatusCWT); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
