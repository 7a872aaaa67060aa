package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/epermit/epermit/internal/qrcode"
)

// epermit offer: the offer URI on stdout (and as a QR), the transaction
// code to the phone on record through the SMS gateway, never on screen.
func TestOfferCommand(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var sms []map[string]string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		sms = append(sms, m)
		mu.Unlock()
	}))
	defer gw.Close()
	data, dir := newIssuingStore(t), t.TempDir()
	png := filepath.Join(dir, "offer.png")
	out, err := run(t, ctx, "offer", "--data", data, "--sms-url", gw.URL, "--public-url", "https://epermit.test", "--kind", "linkage",
		"--document-type", "hk", "--document-number", "H20000037", "--png", png)
	if err != nil {
		t.Fatal(err)
	}
	uri := strings.TrimSpace(out)
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "openid-credential-offer" || !strings.HasPrefix(u.Query().Get("credential_offer_uri"), "https://epermit.test/oid4vci/offers/") {
		t.Fatalf("offer = %q", out)
	}
	b, _ := os.ReadFile(png)
	if text, err := qrcode.DecodePNG(b); err != nil || text != uri {
		t.Fatalf("QR = %q %v", text, err)
	}
	mu.Lock()
	if len(sms) != 1 || !regexp.MustCompile(`\b[0-9]{6}\b`).MatchString(sms[0]["message"]) {
		t.Fatalf("sms = %v", sms)
	}
	if strings.Contains(out, regexp.MustCompile(`[0-9]{6}`).FindString(sms[0]["message"])) {
		t.Error("the transaction code is printed with the offer")
	}
	mu.Unlock()
	for _, args := range [][]string{
		{"offer", "--data", data, "--kind", "passport", "--document-type", "hk", "--document-number", "H20000037"},
		{"offer", "--data", data, "--kind", "epermit", "--document-type", "hk", "--document-number", "H20000037"},
		{"offer", "--data", data, "--kind", "linkage", "--reason", "lost", "--document-type", "hk", "--document-number", "H20000037"},
	} {
		if _, err := run(t, ctx, args...); exitCodeOf(err) != exitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
