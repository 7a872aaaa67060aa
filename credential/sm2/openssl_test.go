package sm2_test

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gmsm "github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"github.com/fxamacker/cbor/v2"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/sm2"
)

// OpenSSL 3 is an implementation of SM2 that shares no code with gmsm. These
// tests hold an SM2-signed e-permit against it, both ways, so that the
// bytes epermit writes are what spec §1.1 says: the Sig_structure as the
// message, SM3 with the distinguishing ID 1234567812345678, r||s.

// openssl returns the openssl command when it can do SM2. Without it the
// tests skip, except under CI, where .ci/run installs it.
func openssl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err == nil {
		out, err2 := exec.Command(path, "list", "-signature-algorithms").CombinedOutput()
		if err2 == nil && bytes.Contains(bytes.ToLower(out), []byte("sm2")) {
			return path
		}
		err = err2
		if err == nil {
			err = errNoSM2
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI needs OpenSSL 3 with SM2: %v", err)
	}
	t.Skipf("no OpenSSL with SM2 here (%v): the independent check of SM2 signatures did not run", err)
	return ""
}

type noSM2 struct{}

func (noSM2) Error() string { return "openssl lists no SM2 signature algorithm" }

var errNoSM2 = noSM2{}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sign1Parts splits a tagged COSE_Sign1 with fxamacker/cbor and returns the
// Sig_structure (RFC 9052 §4.4) and the signature.
func sign1Parts(t *testing.T, token []byte) (sigStructure, sig []byte) {
	t.Helper()
	var tag cbor.RawTag
	if err := cbor.Unmarshal(token, &tag); err != nil || tag.Number != 18 {
		t.Fatalf("not a tagged COSE_Sign1: %v", err)
	}
	var parts []cbor.RawMessage
	if err := cbor.Unmarshal(tag.Content, &parts); err != nil || len(parts) != 4 {
		t.Fatalf("COSE_Sign1 is not an array of 4: %v", err)
	}
	var protected, payload []byte
	if err := cbor.Unmarshal(parts[0], &protected); err != nil {
		t.Fatal(err)
	}
	if err := cbor.Unmarshal(parts[2], &payload); err != nil {
		t.Fatal(err)
	}
	if err := cbor.Unmarshal(parts[3], &sig); err != nil {
		t.Fatal(err)
	}
	var hdr map[int]any
	if err := cbor.Unmarshal(protected, &hdr); err != nil {
		t.Fatal(err)
	}
	if alg, _ := hdr[1].(int64); alg != -70100 {
		t.Fatalf("protected alg %v, want -70100", hdr[1])
	}
	sigStructure, err := cbor.Marshal([]any{"Signature1", protected, []byte{}, payload})
	if err != nil {
		t.Fatal(err)
	}
	return sigStructure, sig
}

func TestOpenSSLVerifiesEPermit(t *testing.T) {
	ossl := openssl(t)
	dir := t.TempDir()
	f := newFixture(t)
	token, err := credential.SignEPermit(f.claims, f.kid, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	msg, sig := sign1Parts(t, token)
	if len(sig) != 64 {
		t.Fatalf("signature of %d bytes, want r||s of 64", len(sig))
	}
	// The private key as the file key store writes it (PKCS#8 PEM):
	// OpenSSL must read it and derive the SubjectPublicKeyInfo our kid is
	// computed from.
	der, err := smx509.MarshalPKCS8PrivateKey(f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := filepath.Join(dir, "key.pem")
	os.WriteFile(keyPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	pubPEM := filepath.Join(dir, "pub.pem")
	run(t, ossl, "pkey", "-in", keyPEM, "-pubout", "-out", pubPEM)
	b, _ := os.ReadFile(pubPEM)
	blk, _ := pem.Decode(b)
	spki, _ := credential.MarshalPublicKey(&f.issuer.PublicKey)
	if blk == nil || !bytes.Equal(blk.Bytes, spki) {
		t.Fatal("OpenSSL derives another SubjectPublicKeyInfo from the key than the kid is computed from")
	}
	msgFile, sigFile := filepath.Join(dir, "msg"), filepath.Join(dir, "sig.der")
	os.WriteFile(msgFile, msg, 0o600)
	os.WriteFile(sigFile, sm2.DERSignature(nil, sig), 0o600)
	verify := []string{"pkeyutl", "-verify", "-pubin", "-inkey", pubPEM, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:1234567812345678", "-in", msgFile, "-sigfile", sigFile}
	if out := run(t, ossl, verify...); !strings.Contains(out, "Verified Successfully") {
		t.Fatalf("openssl: %s", out)
	}
	// And OpenSSL is not just saying yes: another distinguishing ID, or one
	// flipped bit of the message, fails.
	bad := append([]string(nil), verify...)
	bad[9] = "distid:1234567812345679"
	if out, err := exec.Command(ossl, bad...).CombinedOutput(); err == nil || !strings.Contains(string(out), "Verification Failure") {
		t.Fatalf("openssl with another distinguishing ID: %v: %s", err, out)
	}
	msg[len(msg)-1] ^= 1
	os.WriteFile(msgFile, msg, 0o600)
	if out, err := exec.Command(ossl, verify...).CombinedOutput(); err == nil || !strings.Contains(string(out), "Verification Failure") {
		t.Fatalf("openssl with an altered message: %v: %s", err, out)
	}
}

// The other way: OpenSSL makes the key and signs the Sig_structure; the
// credential, carrying that signature as r||s, verifies with the key.
func TestEPermitVerifiesOpenSSLSignature(t *testing.T) {
	ossl := openssl(t)
	dir := t.TempDir()
	keyPEM := filepath.Join(dir, "key.pem")
	run(t, ossl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", keyPEM)
	b, _ := os.ReadFile(keyPEM)
	blk, _ := pem.Decode(b)
	k, err := smx509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv := k.(*gmsm.PrivateKey)
	// Sign with gmsm for the bytes, then replace the signature by
	// OpenSSL's over the same Sig_structure.
	f := newFixture(t)
	kid, _ := credential.KeyID(&priv.PublicKey)
	token, err := credential.SignEPermit(f.claims, kid, priv)
	if err != nil {
		t.Fatal(err)
	}
	msg, ours := sign1Parts(t, token)
	msgFile, sigFile := filepath.Join(dir, "msg"), filepath.Join(dir, "sig.der")
	os.WriteFile(msgFile, msg, 0o600)
	run(t, ossl, "pkeyutl", "-sign", "-inkey", keyPEM, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:1234567812345678", "-in", msgFile, "-out", sigFile)
	der, _ := os.ReadFile(sigFile)
	theirs, err := sm2.RawSignature(der)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(token, ours)
	swapped := append(append(bytes.Clone(token[:i]), theirs...), token[i+64:]...)
	e, err := credential.ParseEPermit(swapped)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(e.Signature, ours) {
		t.Fatal("signature not replaced")
	}
	if err := e.VerifySignature(&priv.PublicKey); err != nil {
		t.Fatalf("OpenSSL's signature: %v", err)
	}
}
