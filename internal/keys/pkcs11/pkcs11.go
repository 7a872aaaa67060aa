//go:build pkcs11

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/ThalesGroup/crypto11"

	"github.com/epermit/epermit/internal/keys"
)

func init() {
	keys.Register("pkcs11", func() keys.Backend { return New() })
}

// DefaultObject is the label of a key generated in a token when the
// location names none.
const DefaultObject = "epermit-issuer"

// KMS opens tokens named by PKCS#11 URIs, one session pool per token, kept
// until Close. It is safe for concurrent use.
type KMS struct {
	mu     sync.Mutex
	tokens map[string]*crypto11.Context
}

// New returns a KMS with no token open yet.
func New() *KMS { return &KMS{tokens: map[string]*crypto11.Context{}} }

// Token opens (or returns the open) token a URI names, logged in with its
// PIN.
func (k *KMS) Token(u *keys.PKCS11URI) (*crypto11.Context, error) {
	id := u.ModulePath + "\x00" + u.Token + "\x00" + u.Serial + "\x00"
	if u.SlotID != nil {
		id += strconv.Itoa(*u.SlotID)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.tokens[id]; ok {
		return c, nil
	}
	pin, err := u.PIN()
	if err != nil {
		return nil, err
	}
	c, err := crypto11.Configure(&crypto11.Config{Path: u.ModulePath, TokenLabel: u.Token, TokenSerial: u.Serial,
		SlotNumber: u.SlotID, Pin: pin})
	if err != nil {
		// crypto11 names the module and token, never the PIN.
		return nil, fmt.Errorf("keys: pkcs11: open token: %w", err)
	}
	k.tokens[id] = c
	return c, nil
}

// Generate makes an ES256 (P-256) key pair in the token location names, with the
// label of its object= (default DefaultObject) and the id of its id=
// (default 16 random bytes), the private half sensitive and not
// extractable. The reference it returns names the token, the object and
// the id, and carries module-path and pin-source over from location.
func (k *KMS) Generate(alg keys.Algorithm, location string) (string, *ecdsa.PublicKey, error) {
	if err := keys.CheckAlgorithm(location, alg); err != nil {
		return "", nil, err
	}
	u, err := keys.ParsePKCS11URI(location)
	if err != nil {
		return "", nil, err
	}
	c, err := k.Token(u)
	if err != nil {
		return "", nil, err
	}
	ref := *u
	ref.PINValue = "" // never part of a stored reference
	if ref.Object == "" {
		ref.Object = DefaultObject
	}
	if len(ref.ID) == 0 {
		ref.ID = make([]byte, 16)
		rand.Read(ref.ID)
	} else if s, _ := c.FindKeyPair(ref.ID, nil); s != nil {
		return "", nil, fmt.Errorf("keys: pkcs11: the token has a key with id %x already", ref.ID)
	}
	// crypto11 marks the private key CKA_SENSITIVE and not CKA_EXTRACTABLE.
	s, err := c.GenerateECDSAKeyPairWithLabel(ref.ID, []byte(ref.Object), elliptic.P256())
	if err != nil {
		return "", nil, fmt.Errorf("keys: pkcs11: generate in the token: %w", err)
	}
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		s.Delete()
		return "", nil, errors.New("keys: pkcs11: the token made a key that is not P-256")
	}
	return ref.String(), pub, nil
}

// Signer opens the key pair ref names. The key stays in the token: the
// signer sends digests in and gets signatures out. When a signature fails
// (an HSM restarted or unreachable for a while leaves sessions and object
// handles that no longer work), the signer closes the token, opens it
// afresh and tries once more, so a server recovers without a restart.
func (k *KMS) Signer(ref string) (crypto.Signer, error) {
	s, c, err := k.find(ref)
	if err != nil {
		return nil, err
	}
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("keys: pkcs11: the key is not P-256 ECDSA")
	}
	return &signer{kms: k, ref: ref, pub: pub, inner: s, token: c}, nil
}

// signer is a key pair in a token that reopens the token when a signature
// fails.
type signer struct {
	kms *KMS
	ref string
	pub *ecdsa.PublicKey

	mu    sync.Mutex
	inner crypto11.Signer   // nil after a failed reopen
	token *crypto11.Context // the context inner belongs to
}

func (s *signer) Public() crypto.PublicKey { return s.pub }

func (s *signer) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.mu.Lock()
	inner, token := s.inner, s.token
	s.mu.Unlock()
	var first error
	if inner != nil {
		sig, err := inner.Sign(r, digest, opts)
		if err == nil {
			return sig, nil
		}
		first = err
	}
	inner, err := s.reopen(token)
	if err != nil {
		return nil, fmt.Errorf("keys: pkcs11: sign: %v; reopening the token: %w", first, err)
	}
	return inner.Sign(r, digest, opts)
}

// reopen closes the token context a failed signature came from (unless
// another signature reopened it already) and finds the key again.
func (s *signer) reopen(failed *crypto11.Context) (crypto11.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inner != nil && s.token != failed {
		return s.inner, nil // reopened meanwhile
	}
	if failed != nil {
		s.kms.drop(failed)
	}
	s.inner, s.token = nil, nil
	found, c, err := s.kms.find(s.ref)
	if err != nil {
		return nil, err
	}
	if !s.pub.Equal(found.Public()) {
		return nil, errors.New("keys: pkcs11: the token now holds another key under this reference")
	}
	s.inner, s.token = found, c
	return found, nil
}

// drop closes an open token context and forgets it, so that the next use
// opens the token afresh.
func (k *KMS) drop(c *crypto11.Context) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, open := range k.tokens {
		if open == c {
			delete(k.tokens, id)
			c.Close()
		}
	}
}

// Remove destroys the key pair ref names.
func (k *KMS) Remove(ref string) error {
	s, _, err := k.find(ref)
	if err != nil {
		return err
	}
	return s.Delete()
}

// find opens the token ref names and finds the key pair in it.
func (k *KMS) find(ref string) (crypto11.Signer, *crypto11.Context, error) {
	u, err := keys.ParsePKCS11URI(ref)
	if err != nil {
		return nil, nil, err
	}
	if len(u.ID) == 0 && u.Object == "" {
		return nil, nil, errors.New("keys: pkcs11: a key reference names its key by id= or object=")
	}
	c, err := k.Token(u)
	if err != nil {
		return nil, nil, err
	}
	var label []byte
	if u.Object != "" {
		label = []byte(u.Object)
	}
	s, err := c.FindKeyPair(u.ID, label)
	if err != nil || s == nil {
		// crypto11 reports a missing key as an error or as nil.
		return nil, nil, fmt.Errorf("keys: pkcs11: no key pair with object=%q id=%x in the token (%v)", u.Object, u.ID, err)
	}
	return s, c, nil
}

// Close logs out of every token and unloads the modules.
func (k *KMS) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var errs []error
	for id, c := range k.tokens {
		errs = append(errs, c.Close())
		delete(k.tokens, id)
	}
	return errors.Join(errs...)
}
