package keys

import (
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Backend is a key store reached through one reference scheme.
type Backend interface {
	// Generate makes a new key pair of algorithm alg at location (a URI of
	// the backend's scheme saying where, e.g. which token) and returns the
	// reference that opens it again.
	Generate(alg Algorithm, location string) (ref string, pub *ecdsa.PublicKey, err error)
	// Signer opens the key behind ref.
	Signer(ref string) (crypto.Signer, error)
	// Remove deletes the key behind ref.
	Remove(ref string) error
	// Close releases what the backend holds open (sessions, libraries).
	Close() error
}

var (
	backendsMu sync.Mutex
	backends   = map[string]func() Backend{}
)

// Register makes a backend for scheme available to every Store. Package
// keys/pkcs11 registers "pkcs11" when it is linked in.
func Register(scheme string, open func() Backend) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	backends[scheme] = open
}

// Store opens a key for any reference, whatever its scheme, and makes new
// keys where KMS says: the authority holds a Store and never cares where a
// key lives. A Store is safe for concurrent use; Close it when done.
type Store struct {
	Dir string // the data directory, where file: references point
	// KMS is where Generate makes new keys: "" or "file:" for PEM files
	// under Dir/keys, or a pkcs11: URI naming a token. It is checked by
	// CheckKMS.
	KMS string

	mu     sync.Mutex
	opened map[string]Backend
}

// Scheme returns the scheme of a key reference or KMS location.
func Scheme(ref string) string {
	scheme, _, _ := strings.Cut(ref, ":")
	return scheme
}

// CheckKMS checks a location for new keys before any key is made there: a
// known scheme, and for pkcs11 a well-formed URI without a PIN in it,
// because the reference it yields is stored (the PIN comes from pin-source
// or $EPERMIT_PKCS11_PIN).
func CheckKMS(kms string) error {
	switch Scheme(kms) {
	case "", "file":
		if kms != "" && kms != "file:" && kms != "file:keys" {
			return fmt.Errorf("keys: --kms %q: file keys go under the data directory: give \"file:\"", kms)
		}
		return nil
	case "pkcs11":
		u, err := ParsePKCS11URI(kms)
		if err != nil {
			return err
		}
		if u.PINValue != "" {
			return fmt.Errorf("keys: the key reference is stored, and a PIN never is: give pin-source=FILE or set %s instead of pin-value", PINEnv)
		}
		return nil
	}
	return fmt.Errorf("keys: unknown key store %q (want file: or pkcs11:)", Scheme(kms))
}

// CheckAlgorithm refuses an algorithm the key store at kms cannot make:
// PKCS#11 keys are ES256 only, since SoftHSM2 and common HSMs have no SM2.
func CheckAlgorithm(kms string, alg Algorithm) error {
	if Scheme(kms) == "pkcs11" && alg != "" && alg != ES256 {
		return fmt.Errorf("keys: PKCS#11 keys are ES256 only (SoftHSM2 and common HSMs have no SM2); make %s keys with --kms file:", alg)
	}
	return nil
}

// Generate makes a new key of algorithm alg where s.KMS says and returns
// its reference.
func (s *Store) Generate(alg Algorithm) (string, *ecdsa.PublicKey, error) {
	if err := CheckKMS(s.KMS); err != nil {
		return "", nil, err
	}
	if err := CheckAlgorithm(s.KMS, alg); err != nil {
		return "", nil, err
	}
	b, err := s.backend(s.KMS)
	if err != nil {
		return "", nil, err
	}
	return b.Generate(alg, s.KMS)
}

// Signer opens the key behind ref.
func (s *Store) Signer(ref string) (crypto.Signer, error) {
	b, err := s.backend(ref)
	if err != nil {
		return nil, err
	}
	return b.Signer(ref)
}

// Remove deletes the key behind ref; used to undo a Generate whose key
// could not be recorded.
func (s *Store) Remove(ref string) error {
	b, err := s.backend(ref)
	if err != nil {
		return err
	}
	return b.Remove(ref)
}

// Close closes every backend the store opened. Signers it handed out stop
// working.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, b := range s.opened {
		errs = append(errs, b.Close())
	}
	s.opened = nil
	return errors.Join(errs...)
}

// Supported reports whether this build can open references like ref, so
// that a command fails before it touches the store.
func Supported(ref string) error {
	_, err := opener(Scheme(ref))
	return err
}

func opener(scheme string) (func() Backend, error) {
	if scheme == "" || scheme == "file" {
		return nil, nil
	}
	backendsMu.Lock()
	open, ok := backends[scheme]
	backendsMu.Unlock()
	switch {
	case !ok && scheme == "pkcs11":
		return nil, errors.New("keys: this epermit was built without PKCS#11 support; build it with `CGO_ENABLED=1 go build -tags pkcs11 ./cmd/epermit` (see docs/keys.md)")
	case !ok:
		return nil, fmt.Errorf("keys: key store %q is not supported (want file: or pkcs11:)", scheme)
	}
	return open, nil
}

func (s *Store) backend(ref string) (Backend, error) {
	scheme := Scheme(ref)
	if scheme == "" {
		scheme = "file"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.opened[scheme]; ok {
		return b, nil
	}
	open, err := opener(scheme)
	if err != nil {
		return nil, err
	}
	var b Backend = fileBackend{Files{Dir: s.Dir}}
	if open != nil {
		b = open()
	}
	if s.opened == nil {
		s.opened = map[string]Backend{}
	}
	s.opened[scheme] = b
	return b, nil
}

// fileBackend adapts Files to Backend.
type fileBackend struct{ Files }

func (f fileBackend) Generate(alg Algorithm, _ string) (string, *ecdsa.PublicKey, error) {
	return f.Files.Generate(alg)
}
func (fileBackend) Close() error { return nil }
