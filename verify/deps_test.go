package verify

import (
	"os/exec"
	"strings"
	"testing"
)

// deps lists the non-standard packages pkg depends on, itself included.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

// Third parties import this package into gate software: it must pull in
// nothing of the authority's server, storage or web code, and no module
// beyond the standard library. In particular no SM2 code: an ES256-only
// verifier links none; SM2 comes only with credential/sm2.
func TestDependencies(t *testing.T) {
	for _, dep := range deps(t, ".") {
		switch dep {
		case "github.com/epermit/epermit/verify", "github.com/epermit/epermit/credential",
			"github.com/epermit/epermit/credential/pki": // certificates and the signed trust list; no I/O
		default:
			t.Errorf("verify depends on %s; allowed: credential, credential/pki and the standard library", dep)
		}
	}
}

// The SM2 suite a gate opts into adds the SM2 library and nothing else:
// still none of the authority's code.
func TestSM2Dependencies(t *testing.T) {
	for _, dep := range deps(t, "github.com/epermit/epermit/credential/sm2") {
		switch {
		case dep == "github.com/epermit/epermit/credential", dep == "github.com/epermit/epermit/credential/sm2",
			strings.HasPrefix(dep, "github.com/emmansun/gmsm/"), strings.HasPrefix(dep, "golang.org/x/crypto/"),
			strings.HasPrefix(dep, "golang.org/x/sys/"):
		default:
			t.Errorf("credential/sm2 depends on %s; allowed: credential, gmsm and golang.org/x/{crypto,sys}", dep)
		}
	}
}

// credential/pki is linked into verifiers, so it does no I/O of its own:
// certificates and lists come in as bytes.
func TestPKINoIO(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list imports with")
	}
	out, err := exec.Command(goTool, "list", "-f", "{{join .Imports \" \"}}", "github.com/epermit/epermit/credential/pki").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch {
		case imp == "os", imp == "io/fs", imp == "net", strings.HasPrefix(imp, "net/"), imp == "os/exec", imp == "syscall":
			t.Errorf("credential/pki imports %s: it must do no I/O", imp)
		case strings.Contains(imp, ".") && !strings.HasPrefix(imp, "github.com/epermit/epermit/credential"):
			t.Errorf("credential/pki imports %s: only the standard library and credential", imp)
		}
	}
}
