package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// submit clicks a control that submits a form and waits for the next page.
func submit[S chromedp.Selectable](t *testing.T, ctx context.Context, sel S) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(sel))); err != nil {
		t.Fatalf("submit %v: %v", sel, err)
	}
}

// TestBrowserConsole walks an officer's day in Chromium: sign in, look a
// person up, issue an e-permit at the counter, revoke it, find both in the
// audit trail; then an admin registers a verifier and sees its key once.
func TestBrowserConsole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := browser(t)
		e := newConsoleEnv(t, db)
		type id = chromedp.ID
		text := func(sel chromedp.ID) string { return value(t, ctx, chromedp.Text(sel)) }

		do(t, ctx, "open the sign-in page", acceptLanguage("en"), chromedp.Navigate(e.srv.URL+"/officer/"),
			chromedp.WaitVisible(id("signin-form")))
		do(t, ctx, "sign in", chromedp.SendKeys(id("officer-name"), "Wong"), chromedp.SendKeys(id("officer-key"), e.officerKey))
		submit(t, ctx, id("signin-submit"))
		if who := text(id("who")); !strings.Contains(who, "Wong") {
			t.Fatalf("signed in as %q", who)
		}

		// Look up: the URL stays free of the document number.
		do(t, ctx, "lookup page", chromedp.Navigate(e.srv.URL+"/officer/lookup"), chromedp.WaitVisible(id("lookup-form")),
			chromedp.SetValue(id("doc-type"), "hk"), chromedp.SendKeys(id("doc-number"), "H12345678"))
		submit(t, ctx, id("lookup-submit"))
		if name := text(id("p-latin")); name != "CHAN, TAI MAN" {
			t.Fatalf("lookup shows %q", name)
		}
		if loc := value(t, ctx, chromedp.Location()); strings.Contains(loc, "H12345678") {
			t.Errorf("the document number is in the URL %s", loc)
		}
		do(t, ctx, "portrait loads", chromedp.Poll[chromedp.Void](`document.getElementById("person-portrait").naturalWidth > 0`))

		// Issue at the counter, the holder's key uploaded as a file.
		keyFile := filepath.Join(t.TempDir(), "holder.pem")
		if err := os.WriteFile(keyFile, []byte(holderKeyPEM(t)), 0o644); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, "issue page", chromedp.Navigate(e.srv.URL+"/officer/issue"), chromedp.WaitVisible(id("issue-form")),
			chromedp.SendKeys(id("issue-doc-number"), "H12345678"), chromedp.SetValue(id("issue-reason"), "forgotten"),
			chromedp.SetUploadFiles(id("holder-key-file"), []string{keyFile}))
		submit(t, ctx, id("issue-submit"))
		cti := text(id("issued-cti"))
		if len(cti) != 32 || value(t, ctx, chromedp.Value(id("issued-credential"))) == "" {
			t.Fatalf("issued %q", cti)
		}

		// Revoke it from the lookup page, with a reason.
		do(t, ctx, "lookup again", chromedp.Navigate(e.srv.URL+"/officer/lookup"), chromedp.WaitVisible(id("lookup-form")),
			chromedp.SendKeys(id("doc-number"), "H12345678"))
		submit(t, ctx, id("lookup-submit"))
		do(t, ctx, "reason", chromedp.SendKeys(id("reason-"+cti), "holder found the permit"))
		screenshot(t, ctx, "officer-console.png", "")
		submit(t, ctx, id("revoke-"+cti))
		submit(t, ctx, id("confirm-revoke"))
		if st := text(id("cred-state")); st != httpx.Messages("en")["officer.state.revoked"] {
			t.Errorf("after revoking the credential shows %q", st)
		}

		// The audit trail, filtered by the credential.
		do(t, ctx, "audit page", chromedp.Navigate(e.srv.URL+"/officer/audit"), chromedp.WaitVisible(id("audit-form")),
			chromedp.SendKeys(id("audit-subject"), "cti:"+cti))
		submit(t, ctx, id("audit-submit"))
		rows := text(id("audit-events"))
		for _, want := range []string{"credential.issue", "credential.revoke", "officer:Wong"} {
			if !strings.Contains(rows, want) {
				t.Errorf("the audit trail for cti:%s lacks %q:\n%s", cti, want, rows)
			}
		}
		submit(t, ctx, id("audit-verify"))
		if v := text(id("audit-verified")); !strings.Contains(v, httpx.Messages("en")["officer.audit.intact"]) {
			t.Errorf("verify the chain: %q", v)
		}
		// Not an admin: the admin page is refused.
		do(t, ctx, "admin page as officer", chromedp.Navigate(e.srv.URL+"/officer/admin/verifier"), chromedp.WaitVisible(id("console-error")))
		submit(t, ctx, id("signout"))
		do(t, ctx, "signed out", chromedp.WaitVisible(id("signin-form")))

		// An admin registers a verifier and sees its key once.
		do(t, ctx, "sign in as admin", chromedp.SendKeys(id("officer-name"), "Lee"), chromedp.SendKeys(id("officer-key"), e.adminKey))
		submit(t, ctx, id("signin-submit"))
		do(t, ctx, "verifiers", chromedp.Navigate(e.srv.URL+"/officer/admin/verifier"), chromedp.WaitVisible(id("add-form")),
			chromedp.SendKeys(id("client-name"), "Gate 7"), chromedp.SetValue(id("client-kind"), "airline"))
		submit(t, ctx, id("add-submit"))
		key := value(t, ctx, chromedp.Value(id("new-key-value")))
		if _, err := e.a.AuthenticateClient(t.Context(), permit.RoleVerifier, key); err != nil {
			t.Errorf("the key shown (%q) does not work: %v", key, err)
		}
		do(t, ctx, "reload", chromedp.Navigate(e.srv.URL+"/officer/admin/verifier"), chromedp.WaitVisible(id("clients")))
		if html := value(t, ctx, chromedp.Evaluate[string](`document.body.innerHTML`)); strings.Contains(html, key) || !strings.Contains(html, "Gate 7") {
			t.Error("the verifier list shows the key again, or not the verifier")
		}
	})
}

// TestBrowserConsoleAccessibility: every console control has a label and
// the keyboard alone reaches each page's main button, skip link first.
func TestBrowserConsoleAccessibility(t *testing.T) {
	ctx := browser(t)
	e := newConsoleEnv(t, storetest.Open(t, store.SQLite))
	do(t, ctx, "sign in", chromedp.Navigate(e.srv.URL+"/officer/signin"), chromedp.WaitVisible(chromedp.ID("signin-form")))
	tests := []struct{ path, submit string }{
		{"/officer/signin", "signin-submit"},
		{"/officer/lookup", "lookup-submit"},
		{"/officer/issue", "issue-submit"},
		{"/officer/audit", "audit-submit"},
		{"/officer/admin/verifier", "add-submit"},
	}
	for i, tc := range tests {
		if i == 1 {
			do(t, ctx, "sign in", chromedp.Navigate(e.srv.URL+"/officer/signin"), chromedp.WaitVisible(chromedp.ID("signin-form")),
				chromedp.SendKeys(chromedp.ID("officer-name"), "Lee"), chromedp.SendKeys(chromedp.ID("officer-key"), e.adminKey))
			submit(t, ctx, chromedp.ID("signin-submit"))
		}
		do(t, ctx, "open "+tc.path, chromedp.Navigate(e.srv.URL+tc.path), chromedp.WaitVisible(chromedp.ID(tc.submit)))
		checkLabelsAndKeyboard(t, ctx, tc.path, tc.submit, 60)
	}
}
