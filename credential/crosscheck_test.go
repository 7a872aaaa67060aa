package credential

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// These tests hold the hand-written CBOR and COSE code against two
// independent implementations: fxamacker/cbor for the encoding rules and
// go-cose for the Sig_structure and the ES256 signature form.

// strictDecMode is fxamacker/cbor configured with the spec §4 check 3 rules.
var strictDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:       cbor.DupMapKeyEnforcedAPF,
		IndefLength:     cbor.IndefLengthForbidden,
		MaxNestedLevels: maxNesting,
		UTF8:            cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// TestPayloadIsCoreDeterministic re-encodes our payloads (and the
// independent vector's) with fxamacker/cbor's core deterministic options and
// expects the same bytes.
func TestPayloadIsCoreDeterministic(t *testing.T) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	edge := f
	edge.claims.Permit.Scopes = nil
	edge.claims.Status.Idx = 1 << 40
	edge.claims.Permit.Name = ""
	edge.claims.NotBefore = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC) // negative NumericDate
	for name, cred := range map[string][]byte{
		"fixture":    f.sign(t),
		"edge cases": edge.sign(t),
	} {
		e, err := ParseEPermit(cred)
		if err != nil {
			t.Fatal(err)
		}
		for part, b := range map[string][]byte{"payload": e.payload, "protected": e.protected, "whole": cred} {
			var v any
			if err := strictDecMode.Unmarshal(b, &v); err != nil {
				t.Fatalf("%s %s: fxamacker refuses it: %v", name, part, err)
			}
			re, err := em.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(re, b) {
				t.Errorf("%s %s is not core deterministic:\n ours %x\n det  %x", name, part, b, re)
			}
		}
	}
}

// TestGoCOSEVerifies checks our credential and proof with go-cose, and the
// vector's too, so Sig_structure and r||s agree with another COSE stack.
func TestGoCOSEVerifies(t *testing.T) {
	f := newFixture(t)
	ours, err := ParsePresentation(f.present(t))
	if err != nil {
		t.Fatal(err)
	}
	v := readVector(t, "ep1-good.json")
	vec, err := ParseQR(v.Text)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		p      *Presentation
		issuer any
	}{
		"fixture": {ours, &f.issuer.PublicKey},
		"vector":  {vec, trustKey(t, v, vec)},
	} {
		var cred cose.Sign1Message
		if err := cred.UnmarshalCBOR(c.p.Credential.Raw); err != nil {
			t.Fatalf("%s: go-cose cannot read the credential: %v", name, err)
		}
		iv, err := cose.NewVerifier(cose.AlgorithmES256, c.issuer)
		if err != nil {
			t.Fatal(err)
		}
		if err := cred.Verify(nil, iv); err != nil {
			t.Errorf("%s: go-cose: issuer signature: %v", name, err)
		}
		if kid, _ := cred.Headers.Unprotected[cose.HeaderLabelKeyID].([]byte); !bytes.Equal(kid, c.p.Credential.Kid) {
			t.Errorf("%s: go-cose kid %x, ours %x", name, kid, c.p.Credential.Kid)
		}

		// The proof travels with a detached payload: supply SHA-256(credential).
		proofBytes := appendSign1(nil, c.p.proofProtected, nil, nil, c.p.ProofSignature)
		var proof cose.Sign1Message
		if err := proof.UnmarshalCBOR(proofBytes); err != nil {
			t.Fatalf("%s: go-cose cannot read the proof: %v", name, err)
		}
		sum := sha256.Sum256(c.p.Credential.Raw)
		proof.Payload = sum[:]
		hv, err := cose.NewVerifier(cose.AlgorithmES256, c.p.Credential.Claims.Holder)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.Verify(nil, hv); err != nil {
			t.Errorf("%s: go-cose: holder proof: %v", name, err)
		}
	}
}

// TestGoCOSESignedParses goes the other way: a COSE_Sign1 made by go-cose
// over our payload parses and verifies with this package.
func TestGoCOSESignedParses(t *testing.T) {
	f := newFixture(t)
	payload, err := encodeClaims(&f.claims)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := cose.NewSigner(cose.AlgorithmES256, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(cose.AlgorithmES256)
	msg.Headers.Unprotected[cose.HeaderLabelKeyID] = f.kid
	msg.Payload = payload
	if err := msg.Sign(nil, nil, signer); err != nil {
		t.Fatal(err)
	}
	b, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	e, err := ParseEPermit(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.VerifySignature(&f.issuer.PublicKey); err != nil {
		t.Fatal(err)
	}
}
