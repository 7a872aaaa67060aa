package keys

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// PINEnv is the environment variable a PKCS#11 PIN is read from when a key
// reference names no pin-source file.
const PINEnv = "EPERMIT_PKCS11_PIN"

// PKCS11URI is a PKCS#11 URI (RFC 7512) naming a token, and in a key
// reference one key pair on it. Only the attributes epermit uses are kept;
// any other is refused, so that a misspelt one fails at once.
type PKCS11URI struct {
	// The token: by label, serial number or slot id (exactly one).
	Token  string
	Serial string
	SlotID *int
	// The key pair in the token: by label (object) and id; a reference
	// epermit stores names both.
	Object string
	ID     []byte

	ModulePath string // the PKCS#11 library (module-path)
	PINSource  string // a file holding the PIN (pin-source), "file:" URI or path
	PINValue   string // the PIN itself (pin-value); never stored
}

// path attributes come before "?", query attributes after (RFC 7512 §2.3).
var pkcs11PathAttrs = map[string]bool{"token": true, "serial": true, "slot-id": true, "object": true, "id": true, "type": true}
var pkcs11QueryAttrs = map[string]bool{"module-path": true, "pin-source": true, "pin-value": true}

// ParsePKCS11URI parses a pkcs11: URI. Like most implementations it takes
// an attribute on either side of the "?", separated by ";" or "&".
func ParsePKCS11URI(s string) (*PKCS11URI, error) {
	rest, ok := strings.CutPrefix(s, "pkcs11:")
	if !ok {
		return nil, errors.New("keys: not a pkcs11: URI")
	}
	u := &PKCS11URI{}
	seen := map[string]bool{}
	for _, part := range strings.FieldsFunc(rest, func(r rune) bool { return r == ';' || r == '&' || r == '?' }) {
		name, raw, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("keys: pkcs11 URI attribute %q has no value", part)
		}
		if !pkcs11PathAttrs[name] && !pkcs11QueryAttrs[name] {
			return nil, fmt.Errorf("keys: pkcs11 URI attribute %q is not supported (want token, serial, slot-id, object, id, module-path, pin-source or pin-value)", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("keys: pkcs11 URI attribute %q is given twice", name)
		}
		seen[name] = true
		v, err := url.PathUnescape(raw)
		if err != nil {
			return nil, fmt.Errorf("keys: pkcs11 URI attribute %s: %w", name, err)
		}
		switch name {
		case "token":
			u.Token = v
		case "serial":
			u.Serial = v
		case "slot-id":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("keys: pkcs11 URI slot-id %q is not a slot number", v)
			}
			u.SlotID = &n
		case "object":
			u.Object = v
		case "id":
			u.ID = []byte(v)
		case "type":
			if v != "private" {
				return nil, fmt.Errorf("keys: pkcs11 URI type=%s: an issuer key is type=private", v)
			}
		case "module-path":
			u.ModulePath = v
		case "pin-source":
			u.PINSource = v
		case "pin-value":
			u.PINValue = v
		}
	}
	n := 0
	for _, set := range []bool{u.Token != "", u.Serial != "", u.SlotID != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return nil, errors.New("keys: a pkcs11 URI names its token by exactly one of token=, serial= or slot-id=")
	case u.ModulePath == "":
		return nil, errors.New("keys: a pkcs11 URI needs module-path= (the HSM's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so)")
	case u.PINSource != "" && u.PINValue != "":
		return nil, errors.New("keys: a pkcs11 URI gives pin-source= or pin-value=, not both")
	}
	return u, nil
}

// String returns the URI in RFC 7512's form: path attributes separated by
// ";", then "?" and the query attributes separated by "&", each value
// percent-encoded where needed (id always, byte by byte).
func (u *PKCS11URI) String() string {
	var path, query []string
	add := func(to *[]string, name, v string) {
		if v != "" {
			*to = append(*to, name+"="+escape(v))
		}
	}
	add(&path, "token", u.Token)
	add(&path, "serial", u.Serial)
	if u.SlotID != nil {
		path = append(path, "slot-id="+strconv.Itoa(*u.SlotID))
	}
	add(&path, "object", u.Object)
	if len(u.ID) > 0 {
		var b strings.Builder
		for _, c := range u.ID {
			fmt.Fprintf(&b, "%%%02X", c)
		}
		path = append(path, "id="+b.String())
	}
	add(&query, "module-path", u.ModulePath)
	add(&query, "pin-source", u.PINSource)
	add(&query, "pin-value", u.PINValue)
	s := "pkcs11:" + strings.Join(path, ";")
	if len(query) > 0 {
		s += "?" + strings.Join(query, "&")
	}
	return s
}

// escape percent-encodes what RFC 7512 does not allow unescaped in a value.
func escape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:[]@!$'()*+,/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// PIN returns the token's user PIN: pin-value, else the first line of the
// pin-source file, else $EPERMIT_PKCS11_PIN.
func (u *PKCS11URI) PIN() (string, error) {
	switch {
	case u.PINValue != "":
		return u.PINValue, nil
	case u.PINSource != "":
		path := strings.TrimPrefix(u.PINSource, "file:")
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("keys: pkcs11 pin-source: %w", err)
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		pin := string(bytes.TrimRightFunc(line, unicode.IsSpace))
		if pin == "" {
			return "", fmt.Errorf("keys: pkcs11 pin-source %s is empty", path)
		}
		return pin, nil
	}
	if pin := os.Getenv(PINEnv); pin != "" {
		return pin, nil
	}
	return "", fmt.Errorf("keys: no PIN for the token: give pin-source=FILE in the key URI or set %s", PINEnv)
}
