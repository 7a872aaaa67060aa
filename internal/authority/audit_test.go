package authority_test

import (
	"errors"
	"testing"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// The audit check cross-checks the store's facts against the log: a log
// emptied (a TRUNCATE past the triggers, or events deleted with the head
// rewound) while credentials and clients remain is reported as tampering,
// although its chain is intact.
func TestAuditLogShorterThanFacts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		token := f.prove(t, f.recs[0])
		c, err := f.apply(t, token, newDevice(t), permit.ReasonLost, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.Suspend(ctx, c.ID, "checking"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.IssueLinkageAtCounter(ctx, permit.HKHomeReturnPermit, "H12345678", &newDevice(t).key.PublicKey); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.a.AddClient(ctx, permit.RoleVerifier, "Gate 1", "railway"); err != nil {
			t.Fatal(err)
		}
		if err := f.a.SetClientDisabled(ctx, permit.RoleVerifier, "Gate 1", true); err != nil {
			t.Fatal(err)
		}
		r, err := f.a.VerifyAuditFrom(ctx, nil)
		want := audit.Facts{Credentials: 2, Suspended: 1, Clients: 1, Disabled: 1}
		if err != nil || r.Facts != want {
			t.Fatalf("before tampering: %+v, %v; want facts %+v", r.Facts, err, want)
		}

		raw := storetest.SQL(t, db)
		qs := []string{`DROP TRIGGER audit_events_no_delete`, `DELETE FROM audit_events`}
		if db.Engine() == store.Postgres {
			qs = []string{`DROP TRIGGER audit_events_no_truncate ON audit_events`, `TRUNCATE audit_events`}
		}
		qs = append(qs, `UPDATE audit_head SET seq = 0, hash = $1 WHERE id = 1`)
		for _, q := range qs {
			var args []any
			if q[0] == 'U' {
				args = []any{audit.GenesisHash}
			}
			if _, err := raw.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		r, err = f.a.VerifyAuditFrom(ctx, nil)
		var m *audit.Missing
		if !errors.As(err, &m) || r.Head.Seq != 0 || m.Count < 5 {
			t.Fatalf("after emptying the log: %+v, %v; want the facts reported without events", r, err)
		}
		t.Log(err)
	})
}
