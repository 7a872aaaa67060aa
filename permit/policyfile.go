package permit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// PolicyFile is the issuance policy as an operator writes it
// (docs/policy.md): JSON, unknown fields refused. A kind left out keeps
// DefaultPolicy's rules for it.
type PolicyFile struct {
	// AllowBorder and AllowElectronicPermit are the explicit switches
	// without which the border scope and the long-lived electronic permit
	// are refused.
	AllowBorder           bool            `json:"allow_border"`
	AllowElectronicPermit bool            `json:"allow_electronic_permit"`
	Temporary             *KindPolicyFile `json:"temporary_epermit,omitempty"`
	Electronic            *KindPolicyFile `json:"electronic_permit,omitempty"`
}

// KindPolicyFile is one kind's rules in a PolicyFile.
type KindPolicyFile struct {
	Enabled      bool     `json:"enabled"`
	Validity     string   `json:"validity"` // a Go duration: "168h"
	Scopes       []string `json:"scopes"`   // flight, train, border
	MonthlyQuota int      `json:"monthly_quota"`
	Reasons      []string `json:"reasons,omitempty"` // lost, damaged, forgotten
}

// maxPolicyFile bounds a policy file: a few hundred bytes is usual.
const maxPolicyFile = 64 << 10

// ParsePolicy reads a policy file and validates the policy it describes:
// every problem is a field problem of an ECodeInvalid error.
func ParsePolicy(data []byte) (Policy, error) {
	if len(data) > maxPolicyFile {
		return Policy{}, Errorf(ECodeInvalid, "the policy file is larger than %d bytes", maxPolicyFile)
	}
	var f PolicyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Policy{}, Errorf(ECodeInvalid, "the policy file is not valid: %v", err)
	}
	if dec.More() {
		return Policy{}, Errorf(ECodeInvalid, "the policy file holds more than one JSON object")
	}
	p := DefaultPolicy()
	p.AllowBorder, p.AllowElectronicPermit = f.AllowBorder, f.AllowElectronicPermit
	var ps problems
	for _, k := range []struct {
		name string
		kind Kind
		kf   *KindPolicyFile
	}{{"temporary_epermit", TemporaryEPermit, f.Temporary}, {"electronic_permit", ElectronicPermit, f.Electronic}} {
		if k.kf == nil {
			continue
		}
		kp := KindPolicy{Enabled: k.kf.Enabled, MonthlyQuota: k.kf.MonthlyQuota}
		d, err := time.ParseDuration(k.kf.Validity)
		if err != nil || d <= 0 || d%time.Hour != 0 {
			ps.add(k.name+".validity", "validity_invalid", "a whole number of hours, such as \"168h\"")
		}
		kp.Validity = d
		for _, s := range k.kf.Scopes {
			sc, ok := map[string]Scope{"flight": ScopeFlight, "train": ScopeTrain, "border": ScopeBorder}[s]
			if !ok {
				ps.add(k.name+".scopes", "scope_invalid", "flight, train or border, not %q", s)
			}
			kp.Scopes = append(kp.Scopes, sc)
		}
		for _, s := range k.kf.Reasons {
			r, err := ParseReason(s)
			if err != nil {
				ps.add(k.name+".reasons", string(ECodeReasonInvalid), "lost, damaged or forgotten, not %q", s)
			}
			kp.Reasons = append(kp.Reasons, r)
		}
		if k.kind == TemporaryEPermit && kp.Enabled && len(kp.Reasons) == 0 {
			ps.add(k.name+".reasons", "widening", "the temporary e-permit is issued only for a reason (lost, damaged, forgotten)")
		}
		p.Kinds[k.kind] = kp
	}
	if err := ps.err("policy file"); err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// Hash is the SHA-256, in hex, of a canonical encoding of the policy: two
// policies with the same rules have the same hash, whatever file they came
// from. It is shown by /readyz and recorded in the audit log when it
// changes.
func (p Policy) Hash() string {
	type kind struct {
		Kind         Kind
		Enabled      bool
		ValidityS    int64
		Scopes       []Scope
		MonthlyQuota int
		Reasons      []Reason
	}
	c := struct {
		AllowBorder, AllowElectronicPermit bool
		Kinds                              []kind
	}{AllowBorder: p.AllowBorder, AllowElectronicPermit: p.AllowElectronicPermit}
	for _, k := range []Kind{TemporaryEPermit, ElectronicPermit} {
		kp, ok := p.Kinds[k]
		if !ok {
			continue
		}
		c.Kinds = append(c.Kinds, kind{k, kp.Enabled, int64(kp.Validity / time.Second), kp.Scopes, kp.MonthlyQuota, kp.Reasons})
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("permit: encoding a policy: %v", err)) // plain values only: cannot happen
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
