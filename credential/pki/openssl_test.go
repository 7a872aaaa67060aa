package pki

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// opensslPath returns the openssl command; without it the test skips,
// except under CI (CI=true), which must run the independent check.
func opensslPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs openssl for the independent certificate check: %v", err)
		}
		t.Skipf("no openssl here (%v): the independent certificate check did not run", err)
	}
	return path
}

// TestOpenSSLVerify has OpenSSL, which shares no code with this package,
// validate DS certificates against their root: `openssl verify -CAfile
// root.pem ds.pem`, for SM2 with the default distinguishing ID
// (-vfyopt distid:1234567812345678, OpenSSL 3). It also reads the SM2
// certificates' text form, so a failure shows what OpenSSL made of them.
func TestOpenSSLVerify(t *testing.T) {
	openssl := opensslPath(t)
	for _, tc := range []struct {
		alg  string
		opts []string
	}{
		{"ES256", nil},
		{"SM2", []string{"-vfyopt", "distid:1234567812345678"}},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			c := newChain(t, tc.alg, tc.alg)
			dir := t.TempDir()
			rootPEM, dsPEM := filepath.Join(dir, "root.pem"), filepath.Join(dir, "ds.pem")
			os.WriteFile(rootPEM, EncodePEM(PEMCertificate, c.root.Raw), 0o600)
			os.WriteFile(dsPEM, EncodePEM(PEMCertificate, c.ds.Raw), 0o600)
			// The DS is valid from an hour after t0: check at a time inside
			// its validity (OpenSSL's -attime) so the test does not age.
			at := c.ds.NotBefore.Add(24 * time.Hour).Unix()
			args := append([]string{"verify", "-attime", strconv.FormatInt(at, 10), "-CAfile", rootPEM}, tc.opts...)
			args = append(args, dsPEM)
			out, err := exec.Command(openssl, args...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), ": OK") {
				text, _ := exec.Command(openssl, "x509", "-noout", "-text", "-in", dsPEM).CombinedOutput()
				t.Fatalf("openssl %s: %v\n%s\n%s", strings.Join(args, " "), err, out, text)
			}
			t.Logf("openssl %s: %s", strings.Join(args, " "), strings.TrimSpace(string(out)))
			// And OpenSSL refuses the DS under another root of the same name.
			other := newChain(t, tc.alg, tc.alg)
			otherPEM := filepath.Join(dir, "other.pem")
			os.WriteFile(otherPEM, EncodePEM(PEMCertificate, other.root.Raw), 0o600)
			args[4] = otherPEM
			if out, err := exec.Command(openssl, args...).CombinedOutput(); err == nil {
				t.Fatalf("openssl accepted the DS under another root:\n%s", out)
			}
			// During a rollover a verifier that holds only the old root
			// reaches the new root's DS certificates through the cross
			// certificate (the anchor's pathLenConstraint 0 does not
			// count: RFC 5280 §6.1 takes an anchor as a name and a key).
			nu := newChain(t, tc.alg, tc.alg)
			cross, err := NewCrossCertificate(c.root, c.rootKey, nu.root, c.root.NotAfter)
			if err != nil {
				t.Fatal(err)
			}
			crossPEM, nuDSPEM := filepath.Join(dir, "cross.pem"), filepath.Join(dir, "new-ds.pem")
			os.WriteFile(crossPEM, EncodePEM(PEMCertificate, cross), 0o600)
			os.WriteFile(nuDSPEM, EncodePEM(PEMCertificate, nu.ds.Raw), 0o600)
			steps := [][]string{{"-CAfile", rootPEM, "-untrusted", crossPEM, nuDSPEM}}
			if tc.opts != nil {
				// openssl verify gives -vfyopt's distinguishing ID to the
				// target certificate only, so an SM2 intermediate fails
				// its signature check in a chain (OpenSSL 3.0.x): check
				// the two links one by one, each as the target.
				steps = [][]string{{"-CAfile", rootPEM, crossPEM}, {"-partial_chain", "-CAfile", crossPEM, nuDSPEM}}
			}
			for _, step := range steps {
				xargs := append(append([]string{"verify", "-attime", strconv.FormatInt(at, 10)}, tc.opts...), step...)
				if out, err := exec.Command(openssl, xargs...).CombinedOutput(); err != nil || !strings.Contains(string(out), ": OK") {
					t.Fatalf("openssl %s: %v\n%s", strings.Join(xargs, " "), err, out)
				}
			}
			// A request we make is one OpenSSL checks as well.
			reqPEM := filepath.Join(dir, "req.pem")
			os.WriteFile(reqPEM, EncodePEM(PEMRequest, c.csr.Raw), 0o600)
			rargs := append([]string{"req", "-verify", "-noout", "-in", reqPEM}, tc.opts...)
			if out, err := exec.Command(openssl, rargs...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(rargs, " "), err, out)
			}
		})
	}
}
