package authority_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
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

// BenchmarkStatusListResign is the authority signing an unchanged list
// again, as it does every StatusResignAfter (half the ttl, 150 s by
// default) to keep iat fresh: read the list from the store, rebuild it,
// compress it once and sign both forms. The lists are 90% allocated (a
// full list: new e-permits go to the next one) with 2% of all entries
// revoked or suspended, at random places. Served is the same fetch when
// the cached token is still current (one version read), the baseline.
func BenchmarkStatusListResign(b *testing.B) {
	for _, engine := range storetest.Engines {
		for _, size := range []int64{1 << 20, 10_000_000} {
			b.Run(fmt.Sprintf("%s/%d", engine, size), func(b *testing.B) {
				db := storetest.Open(b, engine)
				f := newFixture(b, db, authority.Config{StatusListSize: size})
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
				fillStatusList(b, db, c.StatusList, size)
				resign := f.a.StatusResignAfter()
				var tok *authority.StatusToken
				b.Run("Resign", func(b *testing.B) {
					for b.Loop() {
						f.clock.add(resign)
						var err error
						if tok, err = f.a.StatusListToken(ctx, c.StatusList, authority.StatusCWT); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(len(tok.Token)), "cwt-bytes")
				})
				b.Run("Served", func(b *testing.B) {
					for b.Loop() {
						if _, err := f.a.StatusListToken(ctx, c.StatusList, authority.StatusCWT); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// BenchmarkStatusListResignIndex re-signs a full list (as
// BenchmarkStatusListResign fills it) on two like stores, one without
// migration 032's partial index of the entries that are not 0, alternated,
// and reports without/with: what the index saves. PostgreSQL's tables are
// vacuumed after the fill, as autovacuum would.
func BenchmarkStatusListResignIndex(b *testing.B) {
	for _, engine := range storetest.Engines {
		for _, size := range []int64{1 << 20, 10_000_000} {
			b.Run(fmt.Sprintf("%s/%d", engine, size), func(b *testing.B) {
				type side struct {
					f    *fixture
					list int64
				}
				mk := func(drop bool) side {
					db := storetest.Open(b, engine)
					f := newFixture(b, db, authority.Config{StatusListSize: size})
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
					fillStatusList(b, db, c.StatusList, size)
					raw := storetest.SQL(b, db)
					if drop {
						if _, err := raw.Exec(`DROP INDEX status_entries_set`); err != nil {
							b.Fatal(err)
						}
					}
					if engine == store.Postgres {
						if _, err := raw.Exec(`VACUUM ANALYZE status_entries`); err != nil {
							b.Fatal(err)
						}
					}
					return side{f, c.StatusList}
				}
				with, without := mk(false), mk(true)
				resign := func(s side) time.Duration {
					s.f.clock.add(s.f.a.StatusResignAfter())
					t0 := time.Now()
					if _, err := s.f.a.StatusListToken(ctx, s.list, authority.StatusCWT); err != nil {
						b.Fatal(err)
					}
					return time.Since(t0)
				}
				var tw, to time.Duration
				for b.Loop() {
					to += resign(without)
					tw += resign(with)
				}
				n := float64(b.N)
				b.ReportMetric(float64(to.Milliseconds())/n, "without-ms/op")
				b.ReportMetric(float64(tw.Milliseconds())/n, "with-ms/op")
				b.ReportMetric(to.Seconds()/tw.Seconds(), "without/with")
			})
		}
	}
}

// fillStatusList allocates 90% of list's entries, 2% of all entries
// revoked (1) or suspended (2), at random but repeatable places, straight
// in the database (issuing millions of e-permits would take hours).
func fillStatusList(b *testing.B, db *store.DB, list, size int64) {
	b.Helper()
	raw := storetest.SQL(b, db)
	q := `INSERT INTO status_entries (list_id, idx, status)
		SELECT ?, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) WHERE true
		ON CONFLICT DO NOTHING`
	if db.Engine() == store.Postgres {
		q = `INSERT INTO status_entries (list_id, idx, status)
			SELECT $1, (e->>0)::bigint, (e->>1)::smallint FROM jsonb_array_elements($2::jsonb) e
			ON CONFLICT DO NOTHING`
	}
	r := rand.New(rand.NewPCG(1, 2))
	var batch strings.Builder
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		if _, err := raw.Exec(q, list, "["+batch.String()+"]"); err != nil {
			b.Fatal(err)
		}
		batch.Reset()
		n = 0
	}
	for idx := range size {
		x := r.IntN(1000)
		if x >= 900 {
			continue // never allocated
		}
		st := 0
		if x < 20 {
			st = 1 + x%2
		}
		if n > 0 {
			batch.WriteByte(',')
		}
		fmt.Fprintf(&batch, "[%d,%d]", idx, st)
		if n++; n == 200_000 {
			flush()
		}
	}
	flush()
	if _, err := raw.Exec(`UPDATE status_lists SET used = size * 9 / 10, version = version + 1 WHERE id = $1`, list); err != nil {
		b.Fatal(err)
	}
}
