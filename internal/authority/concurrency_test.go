package authority_test

// Rules that read, decide and write hold under parallel requests on both
// engines: on PostgreSQL they lock what they read.

import (
	"crypto"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// a double-tapped Cancel: one revocation, one audit event.
func TestCancelTwiceAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		token := f.prove(t, f.recs[0])
		c, err := f.apply(t, token, newDevice(t), permit.ReasonLost, "")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 64 {
			wg.Go(func() {
				if f.a.CancelMine(ctx, token, c.ID) == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		ev, _ := f.a.AuditEvents(ctx, "cti:"+hex.EncodeToString(c.ID))
		n := 0
		for _, e := range ev {
			if e.Action == "credential.cancel" {
				n++
			}
		}
		if ok != 1 || n != 1 {
			t.Errorf("%d cancellations succeeded, %d credential.cancel events; want 1 and 1", ok, n)
		}
	})
}

// CodeMaxTries (5) must bound how many codes are checked, however
// the guesses arrive.
func TestCodeTriesUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.recs[0]
		st, err := f.a.StartProofing(ctx, startFor(r))
		if err != nil {
			t.Fatal(err)
		}
		right := f.phone.code(t, r.Person.Phone)
		var mu sync.Mutex
		checked := 0 // guesses answered "wrong code; N tries left", i.e. compared with the code
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				guess := "000000"
				if guess == right {
					guess = "000001"
				}
				_, err := f.a.SubmitCode(ctx, st.Secret, guess)
				if permit.ErrorCode(err) == permit.ECodeCodeInvalid {
					mu.Lock()
					checked++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if checked > authority.CodeMaxTries-1 {
			t.Errorf("%d wrong codes were checked and answered 'tries left'; at most %d may be before the session fails", checked, authority.CodeMaxTries-1)
		}
	})
}

// slowKeys opens signers only when told to: a stand-in for a slow HSM.
type slowKeys struct {
	keys.Files
	entered chan struct{}
	release chan struct{}
}

func (k slowKeys) Signer(ref string) (crypto.Signer, error) {
	close(k.entered)
	<-k.release
	return k.Files.Signer(ref)
}

// a registry import that cancels a residence permit must leave no
// active linkage proof resting on it, even one being issued meanwhile.
func TestLinkageRacesImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		sk := slowKeys{Files: f.keyStore, entered: make(chan struct{}), release: make(chan struct{})}
		b, err := authority.New(db, sk, authority.Config{PublicURL: "https://epermit.test"}, nil) // a second replica
		if err != nil {
			t.Fatal(err)
		}
		b.SetClock(f.clock.now)
		rec := f.recs[0]
		tp := rec.TravelPermits[0]

		issued := make(chan *permit.Credential, 1)
		go func() {
			c, err := b.IssueLinkageAtCounter(ctx, tp.Type, tp.Number, &newDevice(t).key.PublicKey)
			if err != nil {
				t.Logf("linkage: %v", err)
			}
			issued <- c
		}()
		<-sk.entered // the replica has read the record and is signing

		rp := *rec.ResidencePermit
		rp.Status = permit.StatusCancelled
		rec.ResidencePermit = &rp
		imported := make(chan struct{})
		go func() { f.reimport(t, rec); close(imported) }()
		select {
		case <-imported: // PostgreSQL: nothing made the import wait
		case <-time.After(time.Second): // SQLite: the import waits for the write lock
		}
		close(sk.release)
		c := <-issued
		<-imported
		if c == nil {
			return // refused: fine
		}
		var now *permit.Credential
		db.View(ctx, func(tx *store.Tx) (err error) { now, err = tx.Credential(ctx, c.ID); return err })
		if now.State == permit.CredentialActive {
			t.Errorf("linkage proof %x is %s after the residence permit was cancelled in the registry", c.ID, now.State)
		}
	})
}

// Parallel wrong keys for one officer: at most 5 are checked before the
// name is refused outright, however they arrive.
func TestOfficerSignInLimitUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		if _, _, err := f.a.AddClient(ctx, permit.RoleOfficer, "Wong", "officer"); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		checked := 0
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				_, _, err := f.a.OfficerSignIn(ctx, "Wong", "epo_"+strings.Repeat("A", 40)+strconv.Itoa(i), "198.51.100."+strconv.Itoa(i))
				if permit.ErrorCode(err) == permit.ECodeUnauthorized {
					mu.Lock()
					checked++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if checked > 5 {
			t.Errorf("%d wrong keys were checked for one name; at most 5 may be", checked)
		}
	})
}

// Counter issuance from many requests on two replicas at once: every
// e-permit is acknowledged, recorded with the status entry it carries, and
// no status entry is given twice.
func TestIssueInParallel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixtureN(t, db, authority.Config{StatusListSize: 64}, 120)
		other, err := authority.New(storetest.Replica(t, db), f.keyStore, authority.Config{PublicURL: "https://epermit.test", StatusListSize: 64}, nil)
		if err != nil {
			t.Fatal(err)
		}
		other.SetClock(f.clock.now)
		replicas := []*authority.Authority{f.a, other}
		var eligible []permit.TravelPermit
		for _, r := range f.recs {
			if tp := r.TravelPermits[0]; tp.Status == permit.StatusValid && !tp.Expired(f.clock.now()) {
				eligible = append(eligible, tp)
			}
		}
		const workers = 8
		holder := &newDevice(t).key.PublicKey
		issued := make([][]*permit.Credential, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < len(eligible); i += workers {
					tp := eligible[i]
					c, err := replicas[i%2].IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, holder)
					if err != nil {
						t.Errorf("issue to %s: %v", tp.Number, err)
						return
					}
					issued[w] = append(issued[w], c)
				}
			})
		}
		wg.Wait()
		type entry struct{ list, idx int64 }
		seen := map[entry]string{}
		n := 0
		for _, cs := range issued {
			for _, c := range cs {
				n++
				e := entry{c.StatusList, c.StatusIndex}
				if prev, ok := seen[e]; ok {
					t.Errorf("status entry %v given to %x and %s", e, c.ID, prev)
				}
				seen[e] = hex.EncodeToString(c.ID)
				var got *permit.Credential
				if err := db.View(ctx, func(tx *store.Tx) (err error) { got, err = tx.Credential(ctx, c.ID); return err }); err != nil {
					t.Errorf("acknowledged e-permit %x not in the store: %v", c.ID, err)
					continue
				}
				if got.StatusList != c.StatusList || got.StatusIndex != c.StatusIndex {
					t.Errorf("e-permit %x recorded at %d/%d; acknowledged at %d/%d", c.ID, got.StatusList, got.StatusIndex, c.StatusList, c.StatusIndex)
				}
			}
		}
		if n != len(eligible) || n < 60 {
			t.Errorf("%d e-permits issued to %d people; want one each, at least 60", n, len(eligible))
		}
	})
}
