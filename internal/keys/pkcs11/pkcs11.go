//go:build pkcs11

package pkcs11

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
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
// signer sends digests in and gets signatures out.
func (k *KMS) Signer(ref string) (crypto.Signer, error) {
	s, err := k.find(ref)
	if err != nil {
		return nil, err
	}
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("keys: pkcs11: the key is not P-256 ECDSA")
	}
	return s, nil
}

// Remove destroys the key pair ref names.
func (k *KMS) Remove(ref string) error {
	s, err := k.find(ref)
	if err != nil {
		return err
	}
	return s.Delete()
}

func (k *KMS) find(ref string) (crypto11.Signer, error) {
	u, err := keys.ParsePKCS11URI(ref)
	if err != nil {
		return nil, err
	}
	if len(u.ID) == 0 && u.Object == "" {
		return nil, errors.New("keys: pkcs11: a key reference names its key by id= or object=")
	}
	c, err := k.Token(u)
	if err != nil {
		return nil, err
	}
	var label []byte
	if u.Object != "" {
		label = []byte(u.Object)
	}
	s, err := c.FindKeyPair(u.ID, label)
	if err != nil || s == nil {
		// crypto11 reports a missing key as an error or as nil.
		return nil, fmt.Errorf("keys: pkcs11: no key pair with object=%q id=%x in the token (%v)", u.Object, u.ID, err)
	}
	return s, nil
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
