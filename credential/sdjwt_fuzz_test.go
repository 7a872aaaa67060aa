package credential

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// linkageSeeds returns the golden linkage presentation and parts of it.
func linkageSeeds(t testing.TB) []string {
	b, err := os.ReadFile(filepath.Join("testdata", goldenLinkageName))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenLinkage
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	p := g.Presentation
	last := strings.LastIndexByte(p, '~')
	return []string{p, p[:last+1], p[:strings.IndexByte(p, '~')+1], p + "~", strings.Join(g.Disclosures, "~")}
}

// FuzzParseSDJWT: any input either parses into something every check can
// run on without panicking, or fails with a format error.
func FuzzParseSDJWT(f *testing.F) {
	for _, s := range linkageSeeds(f) {
		f.Add(s)
	}
	for _, s := range []string{"", "~", "~~", "a.b.c~", "e30.e30.~", "e30.e30.AA~e30.e30.AA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSDJWT(text)
		if err != nil {
			if !errors.Is(err, ErrFormat) || s != nil {
				t.Fatalf("error is not a format error: %v", err)
			}
			return
		}
		_ = s.VerifyIssuer(s.Holder)
		_ = s.CheckDisclosures()
		_ = s.VerifyKeyBinding()
		_ = s.SDHashMatches()
		for _, d := range s.Disclosures {
			_ = d.Digest()
		}
	})
}

// FuzzParseDisclosure: a parsed disclosure re-parses from its own text to
// the same claim, and failures are format errors.
func FuzzParseDisclosure(f *testing.F) {
	g := linkageSeeds(f)
	for _, d := range strings.Split(g[len(g)-1], "~") {
		f.Add(d)
	}
	f.Add("WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0")
	f.Add("WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0")
	f.Fuzz(func(t *testing.T, enc string) {
		d, err := ParseDisclosure(enc)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error is not a format error: %v", err)
			}
			return
		}
		again, err := ParseDisclosure(d.Encoded)
		if err != nil || again.Name != d.Name || again.Salt != d.Salt || again.Digest() != d.Digest() {
			t.Fatalf("re-parse: %+v %v", again, err)
		}
	})
}
