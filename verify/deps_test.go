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
		case "github.com/epermit/epermit/verify", "github.com/epermit/epermit/credential":
		default:
			t.Errorf("verify depends on %s; allowed: credential and the standard library", dep)
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
