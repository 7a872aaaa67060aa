package httpx

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/epermit/epermit/permit"
)

// declaredCodes reads the permit package's source for every constant of
// type Code, so that a code added there without a status fails the test
// below rather than answering 422 unnoticed.
func declaredCodes(t *testing.T) []permit.Code {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(here), "..", "..", "..", "permit")
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []permit.Code
	for _, f := range pkgs["permit"].Files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
					continue
				}
				for _, v := range vs.Values {
					s, err := strconv.Unquote(v.(*ast.BasicLit).Value)
					if err != nil {
						t.Fatal(err)
					}
					codes = append(codes, permit.Code(s))
				}
			}
		}
	}
	return codes
}

func TestEveryCodeHasAStatus(t *testing.T) {
	codes := declaredCodes(t)
	if len(codes) < 25 {
		t.Fatalf("found only %d codes in permit; the scan is broken", len(codes))
	}
	seen := map[permit.Code]bool{}
	for _, c := range codes {
		if seen[c] {
			t.Errorf("code %q is declared twice", c)
		}
		seen[c] = true
		if st, ok := httpStatus[c]; !ok || st < 400 || st > 599 {
			t.Errorf("code %q has no error status (%d)", c, st)
		}
	}
	for c := range httpStatus {
		if !seen[c] {
			t.Errorf("the status table has %q, which permit does not declare", c)
		}
	}
}

// An internal error on a page a browser navigates to is a 500 page in its
// language; on the API it stays problem+json.
func TestInternalErrorPage(t *testing.T) {
	site := &Site{Log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		path, accept, wantType, want string
	}{
		{"/wallet", "text/html", "text/html", Messages("en")["err.page.internal.title"]},
		{"/api/v1/epermits", "text/html", "application/problem+json", `"code":"internal"`},
		{"/wallet", "application/json", "application/problem+json", `"code":"internal"`},
	} {
		r := httptest.NewRequest("GET", tc.path, nil)
		r.Header.Set("Accept", tc.accept)
		r.Header.Set("Accept-Language", "en")
		w := httptest.NewRecorder()
		site.Error(w, r, errors.New("the disk is on fire"))
		body := w.Body.String()
		if w.Code != 500 || !strings.HasPrefix(w.Header().Get("Content-Type"), tc.wantType) || !strings.Contains(body, tc.want) ||
			strings.Contains(body, "fire") {
			t.Errorf("GET %s (Accept %s) = %d %s %q; want 500 %s with %q and no detail", tc.path, tc.accept, w.Code,
				w.Header().Get("Content-Type"), body, tc.wantType, tc.want)
		}
	}
}
