package authority_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// A code may be sent again: not sooner than ResendAfter, at most
// MaxResends times, the code before stops working, and parallel requests
// send one.
func TestResendCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, authority.Config{})
		r := f.recs[0]
		started, err := f.a.StartProofing(ctx, startFor(r))
		if err != nil {
			t.Fatal(err)
		}
		first := f.phone.code(t, r.Person.Phone)
		if _, err := f.a.ResendCode(ctx, started.Secret, "en"); permit.ErrorCode(err) != permit.ECodeRateLimited {
			t.Fatalf("resend at once: %v; want rate_limited", err)
		}
		for i := range authority.MaxResends {
			f.clock.add(authority.ResendAfter)
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok := 0
			for range 8 {
				wg.Go(func() {
					if _, err := f.a.ResendCode(ctx, started.Secret, "zh-Hans"); err == nil {
						mu.Lock()
						ok++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if ok != 1 {
				t.Fatalf("resend %d: %d of 8 parallel requests sent a code; want 1", i+1, ok)
			}
		}
		f.clock.add(authority.ResendAfter)
		if _, err := f.a.ResendCode(ctx, started.Secret, "en"); permit.ErrorCode(err) != permit.ECodeTooMany {
			t.Fatalf("resend %d: %v; want too_many_attempts", authority.MaxResends+1, err)
		}
		last := f.phone.code(t, r.Person.Phone)
		if msg := f.phone.last[r.Person.Phone]; !strings.HasPrefix(msg, "您的电子通行证验证码为") {
			t.Errorf("resent message %q; want Simplified Chinese", msg)
		}
		if last != first {
			if _, err := f.a.SubmitCode(ctx, started.Secret, first); permit.ErrorCode(err) != permit.ECodeCodeInvalid {
				t.Errorf("the first code after a resend: %v; want code_invalid", err)
			}
		}
		if st, err := f.a.SubmitCode(ctx, started.Secret, last); err != nil || st.State != "face_required" {
			t.Fatalf("the last code sent: %+v, %v", st, err)
		}
		if _, err := f.a.ResendCode(ctx, started.Secret, "en"); permit.ErrorCode(err) != permit.ECodeWrongState {
			t.Errorf("resend after the code was accepted: %v; want wrong_state", err)
		}
	})
}
