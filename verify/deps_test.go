package verify

import (
	"os/exec"
	"strings"
	"testing"
)

// Third parties import this package into gate software: it must pull in
// nothing of the authority's server, storage or web code, and no module
// beyond the standard library.
func TestDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list dependencies with")
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch dep {
		case "github.com/epermit/epermit/verify", "github.com/epermit/epermit/credential":
		default:
			t.Errorf("verify depends on %s; allowed: credential and the standard library", dep)
		}
	}
}
