package web

import (
	"encoding/json"
	"html"
	"io/fs"
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
