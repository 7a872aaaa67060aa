package web

import (
	"encoding/json"
	"html"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
	"github.com/epermit/epermit/internal/web/httpx"
)

// TestPageMessages: each page carries the words its scripts ask for with
// t("…") and not the whole catalogue.
func TestPageMessages(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	block := regexp.MustCompile(`(?s)<script type="application/json" id="messages">(.*?)</script>`)
	scripts := regexp.MustCompile(`<script src="/static/([^"]+)"`)
	call := regexp.MustCompile(`\bt\("([a-z_.]+[a-z_])"`)
	for _, path := range []string{"/", "/apply", "/wallet", "/gate"} {
		_, page := get(t, srv.URL+path)
		m := block.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s: no messages block", path)
		}
		var msgs map[string]string
		if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &msgs); err != nil {
			t.Fatalf("%s: messages: %v", path, err)
		}
		lang := regexp.MustCompile(`<html lang="([^"]+)"`).FindStringSubmatch(page)[1]
		for _, s := range scripts.FindAllStringSubmatch(page, -1) {
			b, err := fs.ReadFile(staticFS, "static/"+s[1])
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range call.FindAllStringSubmatch(string(b), -1) {
				if msgs[k[1]] != httpx.Messages(lang)[k[1]] {
					t.Errorf("%s: %s asks for %q, which the page lacks", path, s[1], k[1])
				}
			}
		}
		for k := range msgs {
			if strings.HasPrefix(k, "officer.") {
				t.Errorf("%s carries the console's %q", path, k)
			}
		}
		if all := len(httpx.Messages(lang)); len(msgs) > all/2 {
			t.Errorf("%s carries %d of the catalogue's %d entries", path, len(msgs), all)
		}
	}
}

// TestSignedIn: /app/session tells the pages, always with 200, whether an
// applicant session cookie is present; the session's own calls still
// answer 401 without one, as the API does.
func TestSignedIn(t *testing.T) {
	srv, _, _ := pagesServer(t, storetest.Open(t, store.SQLite))
	for _, tc := range []struct {
		cookie string
		want   bool
	}{{"", false}, {"ep_session=", false}, {"ep_session=some-token", true}, {"ep_proof=x", false}} {
		req, _ := http.NewRequest("GET", srv.URL+"/app/session", nil)
		if tc.cookie != "" {
			req.Header.Set("Cookie", tc.cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			SignedIn *bool `json:"signed_in"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || body.SignedIn == nil || *body.SignedIn != tc.want || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("cookie %q: %d signed_in=%v", tc.cookie, resp.StatusCode, body.SignedIn)
		}
	}
	if resp, _ := get(t, srv.URL+"/app/me"); resp.StatusCode != 401 {
		t.Errorf("/app/me without a session: %d, want 401", resp.StatusCode)
	}
}
