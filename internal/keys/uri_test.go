package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePKCS11URI(t *testing.T) {
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte("9876 \nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	slot := 3
	for _, tc := range []struct {
		in    string
		want  PKCS11URI
		canon string // String() of the parse
	}{
		{"pkcs11:token=epermit;object=issuer;id=%01%AB?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=" + pinFile,
			PKCS11URI{Token: "epermit", Object: "issuer", ID: []byte{1, 0xab}, ModulePath: "/usr/lib/softhsm/libsofthsm2.so", PINSource: pinFile},
			"pkcs11:token=epermit;object=issuer;id=%01%AB?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=" + pinFile},
		// Query attributes in the path part, as other tools write them.
		{"pkcs11:module-path=/m.so;slot-id=3;pin-value=1234;type=private",
			PKCS11URI{SlotID: &slot, ModulePath: "/m.so", PINValue: "1234"},
			"pkcs11:slot-id=3?module-path=/m.so&pin-value=1234"},
		{"pkcs11:serial=ABC%20123?module-path=/m.so",
			PKCS11URI{Serial: "ABC 123", ModulePath: "/m.so"},
			"pkcs11:serial=ABC%20123?module-path=/m.so"},
	} {
		u, err := ParsePKCS11URI(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if u.Token != tc.want.Token || u.Serial != tc.want.Serial || (u.SlotID == nil) != (tc.want.SlotID == nil) ||
			u.SlotID != nil && *u.SlotID != *tc.want.SlotID || u.Object != tc.want.Object || !bytes.Equal(u.ID, tc.want.ID) ||
			u.ModulePath != tc.want.ModulePath || u.PINSource != tc.want.PINSource || u.PINValue != tc.want.PINValue {
			t.Errorf("%s: parsed %+v, want %+v", tc.in, u, tc.want)
		}
		if got := u.String(); got != tc.canon {
			t.Errorf("%s: String() = %s, want %s", tc.in, got, tc.canon)
		}
	}

	u, _ := ParsePKCS11URI("pkcs11:token=t?module-path=/m.so&pin-source=file:" + pinFile)
	if pin, err := u.PIN(); err != nil || pin != "9876" {
		t.Errorf("PIN from pin-source = %q, %v; want the file's first line, trimmed", pin, err)
	}
	u, _ = ParsePKCS11URI("pkcs11:token=t?module-path=/m.so")
	t.Setenv(PINEnv, "")
	if _, err := u.PIN(); err == nil || !strings.Contains(err.Error(), PINEnv) {
		t.Errorf("no PIN anywhere: %v, want an error naming %s", err, PINEnv)
	}
	t.Setenv(PINEnv, "5555")
	if pin, err := u.PIN(); err != nil || pin != "5555" {
		t.Errorf("PIN from the environment = %q, %v", pin, err)
	}

	for _, bad := range []string{
		"file:keys/a.pem",
		"pkcs11:object=x?module-path=/m.so",            // no token
		"pkcs11:token=a;serial=b?module-path=/m.so",    // two tokens
		"pkcs11:token=a",                               // no module
		"pkcs11:token=a;tokn=b?module-path=/m.so",      // misspelt
		"pkcs11:token=a;token=b?module-path=/m.so",     // twice
		"pkcs11:token=a;slot-id=x?module-path=/m.so",   // not a number
		"pkcs11:token=a;id=%zz?module-path=/m.so",      // bad escape
		"pkcs11:token=a;type=public?module-path=/m.so", // not a private key
		"pkcs11:token=a?module-path=/m.so&pin-value=1&pin-source=/p",
		"pkcs11:token?module-path=/m.so",
	} {
		if _, err := ParsePKCS11URI(bad); err == nil {
			t.Errorf("ParsePKCS11URI(%q) succeeded", bad)
		}
	}
}

func TestCheckKMS(t *testing.T) {
	for kms, ok := range map[string]bool{
		"":               true,
		"file:":          true,
		"file:keys":      true,
		"file:/etc/keys": false,
		"pkcs11:token=a?module-path=/m.so&pin-source=/p":  true,
		"pkcs11:token=a?module-path=/m.so&pin-value=1234": false, // a PIN would be stored
		"pkcs11:token=a": false,
		"awskms:key":     false,
	} {
		if err := CheckKMS(kms); (err == nil) != ok {
			t.Errorf("CheckKMS(%q) = %v, want ok %v", kms, err, ok)
		}
	}
}

// A build without the pkcs11 tag says how to get one.
func TestStoreWithoutPKCS11(t *testing.T) {
	backendsMu.Lock()
	_, linked := backends["pkcs11"]
	backendsMu.Unlock()
	if linked {
		t.Skip("this test binary has PKCS#11 support")
	}
	if err := Supported("pkcs11:token=a?module-path=/m.so"); err == nil || !strings.Contains(err.Error(), "-tags pkcs11") {
		t.Fatalf("Supported = %v, want how to build with PKCS#11", err)
	}
	if err := Supported("file:keys/x.pem"); err != nil {
		t.Fatal(err)
	}
	s := &Store{Dir: t.TempDir(), KMS: "pkcs11:token=a?module-path=/m.so&pin-source=/p"}
	defer s.Close()
	if _, _, err := s.Generate(ES256); err == nil || !strings.Contains(err.Error(), "-tags pkcs11") {
		t.Fatalf("Generate = %v, want how to build with PKCS#11", err)
	}
	if _, err := s.Signer("pkcs11:token=a;id=%01?module-path=/m.so"); err == nil || !strings.Contains(err.Error(), "-tags pkcs11") {
		t.Fatalf("Signer = %v, want how to build with PKCS#11", err)
	}
	// File keys work the same through the Store.
	s.KMS = "file:"
	ref, pub, err := s.Generate(ES256)
	if err != nil || !strings.HasPrefix(ref, "file:keys/") {
		t.Fatalf("file key: %q, %v", ref, err)
	}
	signer, err := s.Signer(ref)
	if err != nil || !pub.Equal(signer.Public()) {
		t.Fatalf("file signer: %v", err)
	}
}

// FuzzParsePKCS11URI: any string parses or fails cleanly, and what parses
// prints as a URI that parses to the same thing.
func FuzzParsePKCS11URI(f *testing.F) {
	f.Add("pkcs11:token=epermit;object=issuer;id=%01%AB?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/p")
	f.Add("pkcs11:module-path=/m.so;slot-id=3;pin-value=1234")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParsePKCS11URI(s)
		if err != nil {
			return
		}
		v, err := ParsePKCS11URI(u.String())
		if err != nil {
			t.Fatalf("%q prints as %q, which does not parse: %v", s, u.String(), err)
		}
		if v.String() != u.String() {
			t.Fatalf("%q: %q then %q", s, u.String(), v.String())
		}
	})
}
