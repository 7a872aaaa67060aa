package authority_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/registry"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// newAuthority returns an authority over db with file keys in a temp dir.
func newAuthority(t testing.TB, db *store.DB) *authority.Authority {
	t.Helper()
	a, err := authority.New(db, keys.Files{Dir: t.TempDir()}, authority.Config{PublicURL: "https://epermit.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// registryFile encodes records in the registry format.
func registryFile(t testing.TB, recs []permit.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := registry.NewEncoder(&buf)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	enc.Flush()
	return buf.Bytes()
}

var ctx = authority.WithActor(context.Background(), "test")

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }

// QRRoom: every status URL character costs room for the name (spec §3),
// and a URL far too long leaves none.
func TestQRRoom(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want int
	}{
		{"https://ep.example", 21}, // the golden fixture: a 20-character latin name fits
		{"https://s.nia.example", 17},
		{"https://epermit.immigration.gov.example", 0},
	} {
		a, err := authority.New(nil, nil, authority.Config{PublicURL: tc.url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.QRRoom(); got != tc.want {
			t.Errorf("QRRoom under %s = %d, want %d", tc.url, got, tc.want)
		}
	}
}
