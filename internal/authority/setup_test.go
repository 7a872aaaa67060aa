package authority_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

func TestInit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		cfg := authority.Config{PublicURL: "https://ep.example", StatusURL: "https://s.ep", KMS: "file:"}
		a, err := authority.New(db, &keys.Store{Dir: t.TempDir()}, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := authority.LoadSettings(ctx, db); err != nil || s.Initialised {
			t.Fatalf("fresh store: %+v, %v", s, err)
		}
		if _, _, _, err := a.Init(ctx, keys.ES256, " "); permit.ErrorCode(err) != permit.ECodeInvalid {
			t.Fatalf("Init with a blank admin name = %v, want invalid", err)
		}
		k, officer, key, err := a.Init(ctx, keys.ES256, "Chief")
		if err != nil {
			t.Fatal(err)
		}
		if officer.Category != "admin" || !strings.HasPrefix(key, "epo_") || k.State != permit.KeyActive {
			t.Fatalf("Init = %+v, %+v, %q", k, officer, key)
		}
		if c, err := a.AuthenticateClient(ctx, permit.RoleOfficer, key); err != nil || c.Name != "Chief" {
			t.Fatalf("the admin key does not authenticate: %v, %v", c, err)
		}
		s, err := authority.LoadSettings(ctx, db)
		want := authority.Settings{PublicURL: "https://ep.example", StatusURL: "https://s.ep", IssuerID: "CN-NIA", KMS: "file:", Initialised: true}
		if err != nil || s != want {
			t.Fatalf("settings = %+v, %v; want %+v", s, err, want)
		}
		if _, _, _, err := a.Init(ctx, keys.ES256, "Other"); permit.ErrorCode(err) != permit.ECodeConflict {
			t.Fatalf("second Init = %v, want conflict", err)
		}
		// Events: store.init, officer.add, key.init.
		if n, err := a.VerifyAudit(ctx); err != nil || n != 3 {
			t.Fatalf("audit = %d, %v; want 3 events", n, err)
		}
	})
}

// Parallel inits of one store: one sets it up, the others are conflicts
// and leave nothing behind (their keys are removed).
func TestInitUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := authority.New(db, &keys.Store{Dir: dir}, authority.Config{PublicURL: "https://ep.example", KMS: "file:"}, nil)
				if err == nil {
					_, _, _, err = a.Init(ctx, keys.ES256, "Chief")
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case permit.ErrorCode(err) != permit.ECodeConflict:
				t.Errorf("Init: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d parallel inits succeeded, want 1", ok, n)
		}
		a := newAuthority(t, db)
		ks, _ := a.Keys(ctx)
		officers, _ := a.Clients(ctx, permit.RoleOfficer)
		files, _ := filepath.Glob(filepath.Join(dir, "keys", "*.pem"))
		if len(ks) != 1 || len(officers) != 1 || len(files) != 1 {
			t.Fatalf("after parallel inits: %d keys, %d officers, %d key files; want one each", len(ks), len(officers), len(files))
		}
	})
}
