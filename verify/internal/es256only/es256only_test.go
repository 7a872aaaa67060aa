package es256only

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/verify"
)

type vectors struct {
	Roots         map[string]string `json:"roots"`
	Lists         map[string]string `json:"lists"`
	Presentations []struct {
		Name string    `json:"name"`
		Text string    `json:"text"`
		At   time.Time `json:"at"`
	} `json:"presentation_cases"`
}

func readVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "trustlist-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Spec §1.2: a verifier without SM2 leaves SM2 keys out of a signed list
// (what they signed is unknown_key) and cannot take an SM2 root.
func TestWithoutSM2(t *testing.T) {
	if slices.Contains(credential.Algorithms(), credential.JOSESM2) {
		t.Fatal("SM2 is registered in this test binary")
	}
	v := readVectors(t)
	root, err := verify.ParseRoot([]byte(v.Roots["root"]))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 3, 0, 10, 0, time.UTC)
	l, err := verify.ParseSignedTrustList([]byte(v.Lists["L8-mixed"]), root, nil, "mixed", at)
	if err != nil {
		t.Fatalf("a list with an SM2 key: %v", err)
	}
	if l.Len() != 1 || l.Seq() != 8 {
		t.Fatalf("holding %d keys, seq %d; want the ES256 key alone", l.Len(), l.Seq())
	}
	for _, p := range v.Presentations {
		var want verify.Code
		switch p.Name {
		case "SM2 key certified by an ES256 root":
			want = verify.CodeUnknownKey
		case "certified key":
		default:
			continue
		}
		r := verify.New(l, nil, verify.Policy{Use: verify.UseTrain}).Verify(context.Background(), p.Text, p.At)
		if r.Code != want || (want == "" && !r.Accepted()) {
			t.Errorf("%s: %s %q, want %q", p.Name, r.Decision, r.Code, want)
		}
	}
	if _, err := verify.ParseRoot([]byte(v.Roots["sm2-root"])); !errors.Is(err, credential.ErrUnsupportedKey) {
		t.Fatalf("an SM2 root: %v, want ErrUnsupportedKey", err)
	}
}
