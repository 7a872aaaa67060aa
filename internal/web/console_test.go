package web

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/internal/web/officer"
	"github.com/epermit/epermit/permit"
)

// consoleServer is a server over a small fictional registry whose face
// checks go to an officer, with an officer and an admin registered. The
// clock is settable, for session timeouts.
type consoleEnv struct {
	srv                  *httptest.Server
	a                    *authority.Authority
	outbox               *notify.Outbox
	officerKey, adminKey string
	now                  time.Time
}

func newConsoleEnv(t *testing.T, db *store.DB) *consoleEnv {
	t.Helper()
	e := &consoleEnv{outbox: &notify.Outbox{}, now: time.Now()}
	e.srv = httptest.NewUnstartedServer(nil) // its address is the public URL the Origin check compares with
	a, err := authority.New(db, keys.Files{Dir: t.TempDir()}, authority.Config{PublicURL: "http://" + e.srv.Listener.Addr().String(),
		Notifier: e.outbox, FaceMode: authority.FaceOfficer}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetClock(func() time.Time { return e.now })
	e.a = a
	ctx := authority.WithActor(context.Background(), "test")
	seedRegistry(t, a, 3)
	if _, e.officerKey, err = a.AddClient(ctx, permit.RoleOfficer, "Wong", "officer"); err != nil {
		t.Fatal(err)
	}
	if _, e.adminKey, err = a.AddClient(ctx, permit.RoleOfficer, "Lee", "admin"); err != nil {
		t.Fatal(err)
	}
	e.srv.Config.Handler = New(a, slog.New(slog.DiscardHandler),
		Options{Outbox: e.outbox, RateLimit: 1000, RateBurst: 1000, InsecureCookies: true})
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// browserless is a cookie-keeping HTTP client that does not follow
// redirects, so tests see where the console sends it.
type browserless struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (e *consoleEnv) client(t *testing.T) *browserless {
	jar, _ := cookiejar.New(nil)
	return &browserless{t: t, base: e.srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browserless) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browserless) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

// csrf returns the token the sign-in page's forms carry.
func (b *browserless) csrf() string {
	b.t.Helper()
	_, body := b.get("/officer/signin")
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatal("no csrf field on the sign-in page")
	}
	return m[1]
}

// post submits a form with the page's CSRF token, as the browser would.
func (b *browserless) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf())
	}
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

func (b *browserless) signIn(name, key string) *http.Response {
	b.t.Helper()
	resp, _ := b.post("/officer/signin", url.Values{"name": {name}, "key": {key}})
	return resp
}

func TestConsoleSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newConsoleEnv(t, db)
		tests := []struct {
			name, user, key string
			status          int
		}{
			{"right name and key", "Wong", e.officerKey, http.StatusSeeOther},
			{"the name in another case", "WONG", e.officerKey, http.StatusSeeOther},
			{"admin", "Lee", e.adminKey, http.StatusSeeOther},
			{"another officer's key", "Wong", e.adminKey, http.StatusUnauthorized},
			{"wrong key", "Wong", "epo_" + strings.Repeat("A", 43), http.StatusUnauthorized},
			{"not an officer key", "Wong", "epv_" + strings.Repeat("A", 43), http.StatusUnauthorized},
			{"empty", "", "", http.StatusUnauthorized},
			{"the key in the name field", e.officerKey, e.officerKey, http.StatusUnauthorized},
		}
		for _, tc := range tests {
			b := e.client(t)
			resp := b.signIn(tc.user, tc.key)
			if resp.StatusCode != tc.status {
				t.Errorf("%s: sign-in = %d; want %d", tc.name, resp.StatusCode, tc.status)
			}
			if tc.status != http.StatusSeeOther {
				if r, _ := b.get("/officer/lookup"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/officer/signin" {
					t.Errorf("%s: after a failed sign-in the console answers %d", tc.name, r.StatusCode)
				}
				continue
			}
			var session *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == officer.SessionCookie {
					session = c
				}
			}
			if session == nil || session.Path != "/officer/" || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || len(session.Value) < 40 {
				t.Fatalf("%s: session cookie %+v", tc.name, session)
			}
			if r, body := b.get("/officer/"); r.StatusCode != 200 || !strings.Contains(strings.ToLower(body), strings.ToLower(tc.user)) {
				t.Errorf("%s: console home = %d", tc.name, r.StatusCode)
			}
			// Sign-out ends the session on the server, not only the cookie.
			if r, _ := b.post("/officer/signout", url.Values{}); r.StatusCode != 200 {
				t.Errorf("%s: sign-out = %d", tc.name, r.StatusCode)
			}
			if _, err := e.a.OfficerSession(t.Context(), session.Value); permit.ErrorCode(err) != permit.ECodeUnauthorized {
				t.Errorf("%s: the session outlives sign-out: %v", tc.name, err)
			}
			if r, _ := b.get("/officer/lookup"); r.StatusCode != http.StatusSeeOther {
				t.Errorf("%s: after sign-out the console answers %d", tc.name, r.StatusCode)
			}
		}
		// Failures are audited.
		es, _ := e.a.AuditEvents(t.Context(), "officer:Wong")
		failed := 0
		for _, ev := range es {
			if ev.Action == "officer.signin_failed" {
				failed++
			}
		}
		if failed != 3 {
			t.Errorf("%d failed sign-ins of Wong audited; want 3", failed)
		}
		// Names that are no officer's are audited as officer:?, so that a key
		// typed into the name field stays out of the append-only log.
		if es, _ := e.a.AuditEvents(t.Context(), "officer:?"); len(es) != 2 {
			t.Errorf("%d failed sign-ins under unknown names audited; want 2", len(es))
		}
		all, _ := e.a.AuditEvents(t.Context(), "")
		for _, ev := range all {
			if strings.Contains(ev.Subject+string(ev.Details), e.officerKey) {
				t.Errorf("the audit log holds an officer key: %s %s", ev.Subject, ev.Details)
			}
		}
		// Two more failures make five: then even the right key is refused
		// until the window has passed.
		b := e.client(t)
		b.signIn("Wong", "epo_x")
		b.signIn("Wong", "epo_y")
		if r := b.signIn("Wong", e.officerKey); r.StatusCode != http.StatusTooManyRequests {
			t.Errorf("sign-in after 5 failures = %d; want 429", r.StatusCode)
		}
		if r := b.signIn("Lee", e.adminKey); r.StatusCode != http.StatusSeeOther {
			t.Errorf("another officer is locked out too: %d", r.StatusCode)
		}
		e.now = e.now.Add(16 * time.Minute)
		if r := b.signIn("Wong", e.officerKey); r.StatusCode != http.StatusSeeOther {
			t.Errorf("sign-in after the window = %d", r.StatusCode)
		}
	})
}

// TestConsoleCookieSecure: outside tests and the demo the session cookie
// is Secure.
func TestConsoleCookieSecure(t *testing.T) {
	e := newConsoleEnv(t, storetest.Open(t, store.SQLite))
	h := New(e.a, slog.New(slog.DiscardHandler), Options{})
	form := url.Values{"name": {"Wong"}, "key": {e.officerKey}, "csrf": {strings.Repeat("a", 43)}}
	r := httptest.NewRequest("POST", "/officer/signin", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: httpx.CSRFCookie, Value: strings.Repeat("a", 43)})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", w.Code)
	}
	set := w.Header().Values("Set-Cookie")
	if len(set) == 0 || !strings.Contains(strings.Join(set, "\n"), "ep_officer=") {
		t.Fatalf("no session cookie: %v", set)
	}
	for _, c := range set {
		if strings.HasPrefix(c, "ep_officer=") && (!strings.Contains(c, "; Secure") || !strings.Contains(c, "Path=/officer/")) {
			t.Errorf("session cookie %q", c)
		}
	}
}

// TestConsoleSessionEndsWithKey: replacing an officer's key, or disabling
// the officer, ends the sessions signed in before.
func TestConsoleSessionEndsWithKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newConsoleEnv(t, db)
		ctx := t.Context()
		b := e.client(t)
		b.signIn("Wong", e.officerKey)
		if r, _ := b.get("/officer/"); r.StatusCode != 200 {
			t.Fatalf("console after sign-in = %d", r.StatusCode)
		}
		key, err := e.a.RotateClientKey(ctx, "officer", "Wong")
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := b.get("/officer/"); r.StatusCode == 200 {
			t.Error("the session signed in with the old key still works")
		}
		if r := b.signIn("Wong", key); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in with the new key = %d", r.StatusCode)
		}
		if err := e.a.SetClientDisabled(ctx, "officer", "Wong", true); err != nil {
			t.Fatal(err)
		}
		if err := e.a.SetClientDisabled(ctx, "officer", "Wong", false); err != nil {
			t.Fatal(err)
		}
		if r, _ := b.get("/officer/"); r.StatusCode == 200 {
			t.Error("disabling and enabling the officer left the session alive")
		}
	})
}

func TestConsoleSessionExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newConsoleEnv(t, db)
		start := e.now
		tests := []struct {
			name  string
			steps []time.Duration // activity after each step
			alive bool
		}{
			{"active within the idle timeout", []time.Duration{29 * time.Minute}, true},
			{"idle too long", []time.Duration{31 * time.Minute}, false},
			{"active all shift, then past the lifetime", func() []time.Duration {
				var s []time.Duration
				for range 8 * 3 { // every 20 minutes for 8 hours
					s = append(s, 20*time.Minute)
				}
				return append(s, time.Minute)
			}(), false},
		}
		for _, tc := range tests {
			e.now = start
			b := e.client(t)
			if r := b.signIn("Wong", e.officerKey); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: sign-in = %d", tc.name, r.StatusCode)
			}
			var r *http.Response
			for _, d := range tc.steps {
				e.now = e.now.Add(d)
				r, _ = b.get("/officer/")
			}
			if alive := r.StatusCode == 200; alive != tc.alive {
				t.Errorf("%s: console = %d after %v; want alive %v", tc.name, r.StatusCode, e.now.Sub(start), tc.alive)
			}
		}
	})
}

func TestConsoleRolesAndCSRF(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newConsoleEnv(t, db)
		officer, admin, nobody := e.client(t), e.client(t), e.client(t)
		officer.signIn("Wong", e.officerKey)
		admin.signIn("Lee", e.adminKey)
		tests := []struct {
			who    *browserless
			path   string
			status int
		}{
			{officer, "/officer/lookup", 200},
			{officer, "/officer/issue", 200},
			{officer, "/officer/faces", 200},
			{officer, "/officer/audit", 200},
			{officer, "/officer/admin/verifier", 403},
			{officer, "/officer/admin/institution", 403},
			{officer, "/officer/admin/officer", 403},
			{admin, "/officer/admin/verifier", 200},
			{admin, "/officer/admin/officer", 200},
			{admin, "/officer/admin/nobody", 404},
			{nobody, "/officer/audit", 303},
		}
		for _, tc := range tests {
			if r, _ := tc.who.get(tc.path); r.StatusCode != tc.status {
				t.Errorf("GET %s = %d; want %d", tc.path, r.StatusCode, tc.status)
			}
		}
		// An officer cannot add a verifier by POSTing either.
		if r, _ := officer.post("/officer/admin/verifier", url.Values{"op": {"add"}, "name": {"X"}, "kind": {"bus"}}); r.StatusCode != 403 {
			t.Errorf("officer adding a verifier = %d", r.StatusCode)
		}
		// CSRF: a missing or wrong token, or another origin, is refused
		// before anything happens.
		good := officer.csrf()
		for _, tc := range []struct{ name, token, origin string }{
			{"no token", "", officer.base},
			{"wrong token", strings.Repeat("b", 43), officer.base},
			{"other origin", good, "https://evil.example"},
			{"same host and port, other scheme", good, strings.Replace(officer.base, "http://", "https://", 1)},
		} {
			form := url.Values{"subject": {""}}
			if tc.token != "" {
				form.Set("csrf", tc.token)
			}
			req, _ := http.NewRequest("POST", officer.base+"/officer/audit", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", tc.origin)
			if r, body := officer.do(req); r.StatusCode != 403 || !strings.Contains(body, httpx.Messages("zh-Hant")["officer.err.csrf"]) {
				t.Errorf("%s: POST = %d", tc.name, r.StatusCode)
			}
		}
	})
}

// holderKeyPEM makes a device key as a holder's phone would and returns
// its public half in PEM.
func holderKeyPEM(t *testing.T) string {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

var issuedCTI = regexp.MustCompile(`id="issued-cti">([0-9a-f]{32})<`)
var issuedCredential = regexp.MustCompile(`(?s)id="issued-credential"[^>]*>([^<]+)<`)

// TestConsoleActions: each console action has its effect, audited under
// the officer's name.
func TestConsoleActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newConsoleEnv(t, db)
		b := e.client(t)
		b.signIn("Wong", e.officerKey)
		ctx := t.Context()

		// Look up: names, birth date, permit, portrait by opaque handle.
		r, body := b.post("/officer/lookup", url.Values{"doc_type": {"hk"}, "doc_number": {"h12345678"}})
		if r.StatusCode != 200 || !strings.Contains(body, "陳大文") || !strings.Contains(body, "CHAN, TAI MAN") || !strings.Contains(body, "H12345678") {
			t.Fatalf("lookup = %d:\n%s", r.StatusCode, body)
		}
		m := regexp.MustCompile(`src="/officer/portrait/([A-Za-z0-9_-]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no portrait on the lookup page")
		}
		if strings.Contains(m[1], "H12345678") {
			t.Error("the portrait URL names the document")
		}
		if r, img := b.get("/officer/portrait/" + m[1]); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "image/") || len(img) == 0 {
			t.Errorf("portrait = %d %s", r.StatusCode, r.Header.Get("Content-Type"))
		}
		other := e.client(t)
		other.signIn("Lee", e.adminKey)
		if r, _ := other.get("/officer/portrait/" + m[1]); r.StatusCode != 404 {
			t.Errorf("another officer reuses the portrait handle: %d", r.StatusCode)
		}
		again := e.client(t)
		again.signIn("Wong", e.officerKey)
		if r, _ := again.get("/officer/portrait/" + m[1]); r.StatusCode != 404 {
			t.Errorf("another session of the same officer reuses the portrait handle: %d", r.StatusCode)
		}
		if r, _ := b.post("/officer/lookup", url.Values{"doc_type": {"hk"}, "doc_number": {"H99999999"}}); r.StatusCode != 404 {
			t.Errorf("lookup of an unknown permit = %d", r.StatusCode)
		}

		// Issue at the counter, the key uploaded as a file.
		var mp bytes.Buffer
		w := multipart.NewWriter(&mp)
		for k, v := range map[string]string{"csrf": b.csrf(), "kind": "epermit", "doc_type": "hk", "doc_number": "H12345678", "reason": "lost"} {
			w.WriteField(k, v)
		}
		fw, _ := w.CreateFormFile("holder_key_file", "key.pem")
		fw.Write([]byte(holderKeyPEM(t)))
		w.Close()
		req, _ := http.NewRequest("POST", b.base+"/officer/issue", &mp)
		req.Header.Set("Content-Type", w.FormDataContentType())
		r, body = b.do(req)
		cm, tm := issuedCTI.FindStringSubmatch(body), issuedCredential.FindStringSubmatch(body)
		if r.StatusCode != 200 || cm == nil || tm == nil {
			t.Fatalf("issue = %d:\n%s", r.StatusCode, body)
		}
		tok, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(tm[1]))
		if err != nil {
			t.Fatal(err)
		}
		if ep, err := credential.ParseEPermit(tok); err != nil || ep.Claims.Permit.DocumentNumber != "H12345678" {
			t.Fatalf("the issued credential: %v", err)
		}
		cti := cm[1]
		// A linkage proof, the key pasted.
		r, body = b.post("/officer/issue", url.Values{"kind": {"linkage"}, "doc_type": {"hk"}, "doc_number": {"H12345678"}, "holder_key": {holderKeyPEM(t)}})
		if r.StatusCode != 200 || issuedCTI.FindStringSubmatch(body) == nil || !strings.Contains(body, "~") {
			t.Errorf("linkage at the counter = %d:\n%s", r.StatusCode, body)
		}
		if r, _ := b.post("/officer/issue", url.Values{"kind": {"epermit"}, "doc_type": {"hk"}, "doc_number": {"H12345678"}, "reason": {"lost"}, "holder_key": {"not a key"}}); r.StatusCode != 400 {
			t.Errorf("issue with a bad key = %d", r.StatusCode)
		}

		// Suspend, reinstate, revoke; then nothing more.
		for _, tc := range []struct {
			action string
			status int
			state  permit.CredentialState
		}{
			{"suspend", 200, permit.CredentialSuspended},
			{"reinstate", 200, permit.CredentialActive},
			{"revoke", 200, permit.CredentialRevoked},
			{"reinstate", 409, permit.CredentialRevoked},
			{"delete", 400, permit.CredentialRevoked},
		} {
			form := url.Values{"action": {tc.action}, "reason": {"test " + tc.action}}
			if tc.action == "revoke" || tc.action == "suspend" {
				// First the confirmation page, which changes nothing.
				r, body := b.post("/officer/credentials/"+cti, form)
				if r.StatusCode != 200 || !strings.Contains(body, `id="confirm-`+tc.action+`"`) {
					t.Fatalf("%s without confirm = %d; want the confirmation page\n%s", tc.action, r.StatusCode, body)
				}
				if es, _ := e.a.AuditEvents(ctx, "cti:"+cti); strings.HasSuffix(es[0].Action, tc.action) {
					t.Fatalf("%s was done before it was confirmed", tc.action)
				}
				form.Set("confirm", "yes")
			}
			r, body := b.post("/officer/credentials/"+cti, form)
			if r.StatusCode != tc.status {
				t.Errorf("%s = %d; want %d\n%s", tc.action, r.StatusCode, tc.status, body)
			}
			es, _ := e.a.AuditEvents(ctx, "cti:"+cti)
			if len(es) == 0 {
				t.Fatal("no audit events for the credential")
			}
			if tc.status == 200 && (es[0].Actor != "officer:Wong" || !strings.HasSuffix(es[0].Action, tc.action)) {
				t.Errorf("%s audited as %s %s", tc.action, es[0].Actor, es[0].Action)
			}
			_, page := b.post("/officer/lookup", url.Values{"doc_type": {"hk"}, "doc_number": {"H12345678"}})
			// Times carry their zone, documents and states are words.
			if !regexp.MustCompile(`\d\d:\d\d:\d\d CST`).MatchString(page) || !strings.Contains(page, httpx.Messages("zh-Hant")["officer.doc.hk"]) ||
				strings.Contains(page, "<td>hk</td>") || strings.Contains(page, "<td>valid</td>") {
				t.Errorf("the lookup page shows codes or times without a zone")
			}
			if !strings.Contains(page, `data-cti="`+cti+`" data-state="`+string(tc.state)+`"`) {
				t.Errorf("after %s the lookup does not show %s", tc.action, tc.state)
			}
		}

		// The audit trail, filtered, and its chain verified.
		r, body = b.post("/officer/audit", url.Values{"subject": {"cti:" + cti}})
		if r.StatusCode != 200 || !strings.Contains(body, "officer:Wong") || !strings.Contains(body, "credential.revoke") || strings.Contains(body, "registry.create") {
			t.Errorf("filtered audit = %d", r.StatusCode)
		}
		r, body = b.post("/officer/audit/verify", url.Values{})
		if r.StatusCode != 200 || !strings.Contains(body, `id="audit-verified"`) || strings.Contains(body, httpx.Messages("zh-Hant")["officer.audit.broken"]) {
			t.Errorf("verify = %d", r.StatusCode)
		}
		if es, _ := e.a.AuditEvents(ctx, "hk:H12345678"); len(es) == 0 || es[0].Action != "registry.lookup" || es[0].Actor != "officer:Wong" {
			t.Errorf("lookups are not audited: %+v", es)
		}
	})
}

// TestConsoleAuditPages: the audit trail shows 200 events to a page and
// leads on to the older ones.
func TestConsoleAuditPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newConsoleEnv(t, db)
		b := e.client(t)
		b.signIn("Wong", e.officerKey)
		const n = authority.AuditPageSize + 50
		err := db.Update(t.Context(), func(tx *store.Tx) error {
			for range n {
				if err := tx.Audit(t.Context(), audit.Event{Actor: "cli", Action: "test.paged", Subject: "hk:PAGED"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		olderRE := regexp.MustCompile(`name="before" value="(\d+)"`)

		r, body := b.post("/officer/audit", url.Values{"subject": {"hk:PAGED"}})
		m := olderRE.FindStringSubmatch(body)
		if r.StatusCode != 200 || strings.Count(body, "test.paged") != authority.AuditPageSize || m == nil {
			t.Fatalf("first page = %d, %d events, older link %v", r.StatusCode, strings.Count(body, "test.paged"), m)
		}
		r, body = b.post("/officer/audit", url.Values{"subject": {"hk:PAGED"}, "before": {m[1]}})
		if r.StatusCode != 200 || strings.Count(body, "test.paged") != n-authority.AuditPageSize || olderRE.MatchString(body) {
			t.Errorf("second page = %d, %d events, older link %v", r.StatusCode, strings.Count(body, "test.paged"), olderRE.FindString(body))
		}
		// The second page starts right after the first: no event missed or repeated.
		first, _ := strconv.ParseInt(m[1], 10, 64)
		if !strings.Contains(body, "<td>"+strconv.FormatInt(first-1, 10)+"</td>") || strings.Contains(body, "<td>"+m[1]+"</td>") {
			t.Errorf("the second page does not start at event %d", first-1)
		}
		for _, bad := range []string{"x", "0", "-3"} {
			if r, _ := b.post("/officer/audit", url.Values{"before": {bad}}); r.StatusCode != http.StatusBadRequest {
				t.Errorf("before=%q: status %d, want 400", bad, r.StatusCode)
			}
		}
	})
}

func TestConsoleFaceReview(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newConsoleEnv(t, db)
		rec := demo.Registry(1)[0]
		ctx := t.Context()
		pending := func() string {
			st, err := e.a.StartProofing(ctx, authority.ProofingStart{DocumentType: permit.HKHomeReturnPermit,
				DocumentNumber: "H12345678", Name: rec.Person.LatinName, BirthDate: rec.Person.BirthDate, Client: "test"})
			if err != nil {
				t.Fatal(err)
			}
			msgs := e.outbox.Messages()
			if _, err := e.a.SubmitCode(ctx, st.Secret, sixDigits.FindString(msgs[0].Text)); err != nil {
				t.Fatal(err)
			}
			if _, err := e.a.SubmitFace(ctx, st.Secret, rec.Person.Portrait); err != nil {
				t.Fatal(err)
			}
			return st.Secret
		}
		b := e.client(t)
		b.signIn("Wong", e.officerKey)
		for _, tc := range []struct {
			decision string
			want     string
		}{{"approve", store.ProofingVerified}, {"reject", store.ProofingFailed}} {
			secret := pending()
			q, _ := e.a.PendingFaceReviews(ctx)
			if len(q) != 1 {
				t.Fatalf("queue holds %d", len(q))
			}
			id := strconv.FormatInt(q[0].ID, 10)
			r, body := b.get("/officer/faces")
			if r.StatusCode != 200 || !strings.Contains(body, `/officer/faces/`+id+`/selfie`) {
				t.Fatalf("queue page = %d", r.StatusCode)
			}
			for _, which := range []string{"portrait", "selfie"} {
				if r, _ := b.get("/officer/faces/" + id + "/" + which); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "image/") {
					t.Errorf("%s = %d", which, r.StatusCode)
				}
			}
			if r, _ := b.post("/officer/faces/"+id, url.Values{"decision": {tc.decision}, "note": {"checked"}}); r.StatusCode != 200 {
				t.Errorf("%s = %d", tc.decision, r.StatusCode)
			}
			st, _ := e.a.ProofingStatus(ctx, secret)
			if string(st.State) != string(tc.want) {
				t.Errorf("after %s the session is %s; want %s", tc.decision, st.State, tc.want)
			}
			if r, _ := b.post("/officer/faces/"+id, url.Values{"decision": {"approve"}}); r.StatusCode != 409 {
				t.Errorf("second decision = %d; want 409", r.StatusCode)
			}
			// Decided, the review's images are gone with it.
			if r, _ := b.get("/officer/faces/" + id + "/selfie"); r.StatusCode != 404 {
				t.Errorf("selfie after the decision = %d; want 404", r.StatusCode)
			}
			es, _ := e.a.AuditEvents(ctx, "hk:H12345678")
			audited := false
			for _, ev := range es {
				audited = audited || (ev.Actor == "officer:Wong" && strings.HasPrefix(ev.Action, "proofing.face_"+tc.decision[:4]))
			}
			if !audited {
				t.Errorf("the %s is not audited under officer:Wong", tc.decision)
			}
		}
	})
}

func TestConsoleAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newConsoleEnv(t, db)
		b := e.client(t)
		b.signIn("Lee", e.adminKey)
		ctx := t.Context()
		key := regexp.MustCompile(`id="new-key-value" type="text" readonly value="([^"]+)"`)
		tests := []struct {
			role, op, name, kind string
			status               int
			newKey               bool
		}{
			{"verifier", "add", "Gate 9", "railway", 200, true},
			{"verifier", "add", "Gate 9", "railway", 422, false}, // name taken
			{"institution", "add", "Bank A", "bank", 200, true},
			{"officer", "add", "Chan", "officer", 200, true},
			{"verifier", "rotate", "Gate 9", "", 200, true},
			{"verifier", "disable", "Gate 9", "", 200, false},
			{"verifier", "enable", "Gate 9", "", 200, false},
			{"officer", "disable", "Lee", "", 422, false}, // not oneself
			{"verifier", "add", "Bad", "spaceship", 422, false},
		}
		for _, tc := range tests {
			r, body := b.post("/officer/admin/"+tc.role, url.Values{"op": {tc.op}, "name": {tc.name}, "kind": {tc.kind}})
			m := key.FindStringSubmatch(body)
			if r.StatusCode != tc.status || (m != nil) != tc.newKey {
				t.Errorf("%s %s %s = %d, key shown %v", tc.role, tc.op, tc.name, r.StatusCode, m != nil)
				continue
			}
			if m != nil {
				if _, err := e.a.AuthenticateClient(ctx, tc.role, m[1]); err != nil {
					t.Errorf("%s %s: the key shown does not work: %v", tc.op, tc.name, err)
				}
				// Shown once: the list page does not show it again.
				if _, list := b.get("/officer/admin/" + tc.role); strings.Contains(list, m[1]) {
					t.Errorf("%s %s: the key is shown again", tc.op, tc.name)
				}
			}
		}
		cs, _ := e.a.Clients(ctx, permit.RoleVerifier)
		if len(cs) != 1 || cs[0].Disabled() {
			t.Errorf("verifiers %+v", cs)
		}
		es, _ := e.a.AuditEvents(ctx, "verifier:Gate 9")
		if len(es) != 4 || es[len(es)-1].Actor != "officer:Lee" {
			t.Errorf("%d events for Gate 9", len(es))
		}
	})
}

// A bad document type in a lookup is the officer's mistake, told as such
// (400), not an internal error.
func TestConsoleBadDocumentType(t *testing.T) {
	e := newConsoleEnv(t, storetest.Open(t, store.SQLite))
	b := e.client(t)
	b.signIn("Wong", e.officerKey)
	for _, dt := range []string{"xx", ""} {
		if r, _ := b.post("/officer/lookup", url.Values{"doc_type": {dt}, "doc_number": {"H12345678"}}); r.StatusCode != http.StatusBadRequest {
			t.Errorf("lookup with doc_type %q = %d; want 400", dt, r.StatusCode)
		}
	}
}
