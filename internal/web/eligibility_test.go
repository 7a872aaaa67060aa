package web

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/registry"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/permit"
)

// The one-time code's message is in the applicant's language.
func TestCodeMessageLanguage(t *testing.T) {
	srv, _, outbox := pagesServer(t, storetest.Open(t, store.SQLite))
	for _, tc := range []struct{ accept, want string }{
		{"en-GB,en;q=0.9", "Your e-permit verification code is "},
		{"zh-CN", "您的电子通行证验证码为 "},
		{"zh-HK", "您的電子通行證驗證碼為 "},
		{"", "您的電子通行證驗證碼為 "}, // the pages' default
	} {
		code, p := call(t, "POST", srv.URL+"/api/v1/proofing", "", map[string]any{"document_type": "hk",
			"document_number": "H12345678", "name": "CHAN TAI MAN", "birth_date": "1990-01-01"},
			map[string]string{"Accept-Language": tc.accept})
		msgs := outbox.Messages()
		if code != 201 || len(msgs) == 0 || !strings.HasPrefix(msgs[0].Text, tc.want) {
			t.Errorf("Accept-Language %q: %d %v, message %q; want it to start %q", tc.accept, code, p, msgs[0].Text, tc.want)
		}
	}
}

// An applicant the rules will refuse learns it from the code step, with
// the next date the quota allows, and not before: the first step answers
// the same for them as for anyone.
func TestEarlyRefusal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv, a, outbox := pagesServer(t, db)
		api := srv.URL + "/api/v1"
		ctx := authority.WithActor(t.Context(), "cli:test")
		codeStep := func() (int, map[string]any, map[string]any) {
			t.Helper()
			code, started := call(t, "POST", api+"/proofing", "", map[string]any{"document_type": "hk",
				"document_number": "H12345678", "name": "CHAN TAI MAN", "birth_date": "1990-01-01"}, nil)
			if code != 201 {
				t.Fatalf("start = %d %v", code, started)
			}
			msgs := outbox.Messages()
			code, p := call(t, "POST", api+"/proofing/code", started["session"].(string),
				map[string]string{"code": sixDigits.FindString(msgs[0].Text)}, nil)
			return code, started, p
		}

		_, started, p := codeStep()
		if p["state"] != "face_required" || p["refusal"] != nil {
			t.Fatalf("eligible applicant's code step = %v; want face_required, no refusal", p)
		}
		keys := map[string]bool{}
		for k := range started {
			keys[k] = true
		}

		// The month's quota used at the counter.
		for range 2 {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if _, err := a.IssueAtCounter(ctx, permit.HKHomeReturnPermit, "H12345678", permit.ReasonLost, &k.PublicKey); err != nil {
				t.Fatal(err)
			}
		}
		code, started, p := codeStep()
		for k := range started {
			if !keys[k] {
				t.Errorf("the first step's answer has %q for an ineligible applicant only", k)
			}
		}
		ref, _ := p["refusal"].(map[string]any)
		now := time.Now().In(permit.ChinaTime)
		next := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, permit.ChinaTime)
		if code != 200 || ref == nil || ref["code"] != "quota_exceeded" {
			t.Fatalf("code step with the quota used = %d %v; want a quota_exceeded refusal", code, p)
		}
		if got, _ := time.Parse(time.RFC3339, ref["next_application_from"].(string)); !got.Equal(next) {
			t.Errorf("next_application_from = %v, want %v", ref["next_application_from"], next)
		}

		// A permit that expired yesterday (the registry says so now).
		rec := demo.Registry(1)[0]
		rec.TravelPermits[0].ExpiresOn = permit.DateOf(time.Now().In(permit.ChinaTime).AddDate(0, 0, -1))
		var buf bytes.Buffer
		enc := registry.NewEncoder(&buf)
		enc.Encode(&rec)
		enc.Flush()
		if _, err := a.ImportRegistry(ctx, &buf, "test"); err != nil {
			t.Fatal(err)
		}
		code, _, p = codeStep()
		if ref, _ := p["refusal"].(map[string]any); code != 200 || ref == nil || ref["code"] != "permit_expired" ||
			ref["next_application_from"] != nil {
			t.Fatalf("code step with an expired permit = %d %v; want a permit_expired refusal without a date", code, p)
		}
	})
}

// A malformed permit number is named as the field at fault; a code can be
// sent again on both channels, not at once.
func TestDetailsFieldAndResend(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	api := srv.URL + "/api/v1"
	code, p := call(t, "POST", api+"/proofing", "", map[string]any{"document_type": "hk",
		"document_number": "H12", "name": "CHAN TAI MAN", "birth_date": "1990-01-01"}, nil)
	probs, _ := p["problems"].([]any)
	if code != 400 || len(probs) != 1 || probs[0].(map[string]any)["field"] != "document_number" {
		t.Fatalf("short number = %d %v; want a document_number problem", code, p)
	}
	code, p = call(t, "POST", api+"/proofing", "", map[string]any{"document_type": "hk", "document_number": "H12345678"}, nil)
	probs, _ = p["problems"].([]any)
	if code != 400 || len(probs) != 2 || probs[0].(map[string]any)["field"] != "name" || probs[1].(map[string]any)["field"] != "birth_date" {
		t.Fatalf("missing name and birth date = %d %v; want a problem for each", code, p)
	}
	_, started := call(t, "POST", api+"/proofing", "", map[string]any{"document_type": "hk",
		"document_number": "H12345678", "name": "CHAN TAI MAN", "birth_date": "1990-01-01"}, nil)
	if code, p := call(t, "POST", api+"/proofing/resend", started["session"].(string), nil, nil); code != 429 || p["code"] != "rate_limited" {
		t.Errorf("resend at once = %d %v; want 429 rate_limited", code, p)
	}
	if code, p := call(t, "POST", api+"/proofing/resend", "nosuchsession", nil, nil); code != 401 {
		t.Errorf("resend without a session = %d %v; want 401", code, p)
	}
}
