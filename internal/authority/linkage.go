package authority

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// Permit linkage (双证关联): proof that a travel permit and a residence
// permit belong to the same person, for banks, telecoms and internet
// services. Two ways: holders get a linkage proof (an SD-JWT VC, spec §6)
// to present, and registered institutions ask the authority directly with
// CheckLinkage, which answers linked or not and nothing else.

// LinkageValidity is how long a linkage proof is valid at most. A proof
// never outlives either permit it links: its exp is the earliest of
// iat + LinkageValidity and the end of each permit's last valid day, so a
// verifier never sees a valid proof for an expired card.
const LinkageValidity = 30 * 24 * time.Hour

// LinkageRequest is a proven holder's request for a linkage proof, bound to
// the device key like an e-permit application.
type LinkageRequest struct {
	HolderKey *ecdsa.PublicKey
	// Signature is the device key's ES256 signature (r||s) over the UTF-8
	// bytes of the session's current nonce.
	Signature []byte
}

// IssueLinkage issues a linkage proof to the holder of the session, if the
// travel permit they proved with and their residence permit are both
// valid. It fails with permit.ECodeNotLinkable otherwise.
func (a *Authority) IssueLinkage(ctx context.Context, token string, req LinkageRequest) (*permit.Credential, error) {
	var out *permit.Credential
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := a.session(ctx, tx, token)
		if err != nil {
			return err
		}
		ctx := WithActor(ctx, "holder:"+s.DocType.String()+":"+s.DocNumber)
		if err := checkPossession(s, ApplyRequest{HolderKey: req.HolderKey, Signature: req.Signature}, tx.Now()); err != nil {
			return err
		}
		if err := consumeNonce(ctx, tx, s); err != nil {
			return err
		}
		out, err = a.issueLinkage(ctx, tx, s.PersonID, s.DocType, s.DocNumber, req.HolderKey, permit.ChannelOnline)
		return err
	})
	return out, err
}

// IssueLinkageAtCounter issues a linkage proof at an exit-entry office to
// the holder of a travel permit the officer has checked in person, for the
// device key the holder presents. The same rules and audit apply as online.
func (a *Authority) IssueLinkageAtCounter(ctx context.Context, t permit.DocumentType, number string, holder *ecdsa.PublicKey) (*permit.Credential, error) {
	lifetime, err := counterPermit(t, number, holder)
	if err != nil {
		return nil, err
	}
	var out *permit.Credential
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		id, err := tx.PersonIDByPermit(ctx, t, lifetime)
		if err != nil {
			return err
		}
		out, err = a.issueLinkage(ctx, tx, id, t, lifetime, holder, permit.ChannelCounter)
		return err
	})
	return out, err
}

// issueLinkage signs and records a linkage proof with a fresh status entry
// and its audit event, in the caller's transaction. It takes the person's
// lock before reading the record, as issuance does, so that a registry
// change to the permits waits for it, or it sees the change.
func (a *Authority) issueLinkage(ctx context.Context, tx *store.Tx, personID int64, t permit.DocumentType, number string,
	holder *ecdsa.PublicKey, channel permit.Channel) (*permit.Credential, error) {
	now := tx.Now().Truncate(time.Second) // JWT times are whole seconds
	if err := tx.LockPerson(ctx, personID); err != nil {
		return nil, err
	}
	rec, err := tx.Record(ctx, personID)
	if err != nil {
		return nil, err
	}
	tp := findPermit(rec, t.String()+":"+number)
	rp := rec.ResidencePermit
	switch {
	case tp == nil || tp.Status != permit.StatusValid || tp.Expired(now):
		return nil, permit.Errorf(permit.ECodeNotLinkable, "the travel permit is not valid: no linkage proof can be issued")
	case rp == nil:
		return nil, permit.Errorf(permit.ECodeNotLinkable, "no residence permit is on file for this person")
	case rp.Status != permit.StatusValid || rp.Expired(now):
		return nil, permit.Errorf(permit.ECodeNotLinkable, "the residence permit is not valid: no linkage proof can be issued")
	}
	exp := now.Add(LinkageValidity)
	for _, end := range []time.Time{tp.ExpiresOn.End(), rp.ExpiresOn.End()} {
		if end.Before(exp) {
			exp = end.Truncate(time.Second)
		}
	}
	key, signer, err := a.activeSigner(ctx, tx, exp)
	if err != nil {
		return nil, err
	}
	list, idx, err := tx.AllocateStatus(ctx, a.cfg.StatusListSize)
	if err != nil {
		return nil, err
	}
	p := &rec.Person
	claims := credential.LinkageClaims{
		Issuer: a.cfg.PublicURL, IssuedAt: now, Expiry: exp, Holder: holder,
		Status: credential.StatusRef{Idx: uint64(idx), URI: a.StatusListURI(list)},
		Name:   p.Name, LatinName: p.LatinName, BirthDate: p.BirthDate.String(), Sex: WireSex(p.Sex),
		TravelPermitType: t.String(), TravelPermitNumber: number, ResidencePermitNumber: rp.Number,
	}
	var sd string
	if key.Certificate != nil {
		// HAIP: the key's certificate in x5c, the root left out.
		sd, err = credential.IssueLinkageWithChain(claims, key.Kid, signer, [][]byte{key.Certificate})
	} else {
		sd, err = credential.IssueLinkage(claims, key.Kid, signer)
	}
	if err != nil {
		return nil, err
	}
	holderDER, err := x509.MarshalPKIXPublicKey(holder)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	rand.Read(id)
	idHex := hex.EncodeToString(id)
	// Supersede before adding: the store lets one linkage proof per person
	// and holder key be unrevoked (migration 008).
	existing, err := tx.Credentials(ctx, personID, permit.LinkageProofKind, false)
	if err != nil {
		return nil, err
	}
	for _, old := range permit.LinkageSupersedes(existing, holderDER) {
		if err := tx.SetCredentialState(ctx, old, permit.CredentialRevoked, "superseded by "+idHex); err != nil {
			return nil, err
		}
		if err := tx.Audit(ctx, event(ctx, "credential.supersede", "cti:"+hex.EncodeToString(old),
			map[string]any{"by": idHex})); err != nil {
			return nil, err
		}
	}
	c := &permit.Credential{ID: id, Kind: permit.LinkageProofKind, PersonID: personID, KeyID: key.Kid,
		IssuedAt: now, NotBefore: now, ExpiresAt: exp, HolderKey: holderDER, StatusList: list, StatusIndex: idx,
		State: permit.CredentialActive, Token: []byte(sd)}
	if err := tx.AddCredential(ctx, c); err != nil {
		return nil, err
	}
	err = tx.Audit(ctx, event(ctx, "linkage.issue", "cti:"+idHex, map[string]any{
		"kind": permit.LinkageProofKind, "document": t.String() + ":" + number, "channel": channel,
		"kid": key.Kid, "exp": exp.Unix(), "status": fmt.Sprintf("%d/%d", list, idx)}))
	return c, err
}

// MyLinkageProofs lists the holder's linkage proofs, newest first, current
// or not.
func (a *Authority) MyLinkageProofs(ctx context.Context, token string) ([]permit.Credential, error) {
	return a.mine(ctx, token, permit.LinkageProofKind)
}

// LinkageResult is the printable linkage result of a linkage proof: what
// the paper 关联查询结果 shows.
type LinkageResult struct {
	ID                    string // the credential id, hex: the reference printed and in the QR
	Valid                 bool   // active and unexpired now; when false the data fields are empty
	State                 permit.CredentialState
	IssuedAt, ExpiresAt   time.Time
	Name, LatinName       string
	TravelPermitType      string
	TravelPermitNumber    string
	ResidencePermitNumber string
}

// LinkageResultByID returns the printable result of the linkage proof with
// this id. The id is 128 random bits, printed on the paper and in its QR:
// whoever holds the paper may check it online. Personal data is shown only
// while the proof is valid; anything else (unknown id, another kind of
// credential) is not_found.
func (a *Authority) LinkageResultByID(ctx context.Context, id []byte) (*LinkageResult, error) {
	var c *permit.Credential
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		c, err = tx.Credential(ctx, id)
		return err
	})
	if err != nil || c.Kind != permit.LinkageProofKind {
		if err == nil || permit.ErrorCode(err) == permit.ECodeNotFound {
			return nil, permit.Errorf(permit.ECodeNotFound, "no such linkage result")
		}
		return nil, err
	}
	r := &LinkageResult{ID: hex.EncodeToString(c.ID), State: c.State, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt,
		Valid: c.State == permit.CredentialActive && a.now().Before(c.ExpiresAt)}
	if !r.Valid {
		return r, nil
	}
	s, err := credential.ParseSDJWT(string(c.Token))
	if err != nil {
		return nil, err
	}
	for _, d := range s.Disclosures {
		v, _ := d.Value.(string)
		switch d.Name {
		case credential.ClaimName:
			r.Name = v
		case credential.ClaimLatinName:
			r.LatinName = v
		case credential.ClaimTravelPermitType:
			r.TravelPermitType = v
		case credential.ClaimTravelPermitNumber:
			r.TravelPermitNumber = v
		case credential.ClaimResidencePermitNumber:
			r.ResidencePermitNumber = v
		}
	}
	return r, nil
}

// LinkageCheck is an institution's question: do these two permits belong
// to the same person (and, if a name is given, is it theirs)?
type LinkageCheck struct {
	TravelPermitType      permit.DocumentType
	TravelPermitNumber    string // as printed
	ResidencePermitNumber string
	Name                  string // optional: Chinese or latin name as registered
	Purpose               string // the institution's stated purpose, required
}

// LinkageAnswer is all an institution learns: linked or not, and a
// reference to quote when asking the authority about the check.
type LinkageAnswer struct {
	Linked    bool   `json:"linked"`
	Reference string `json:"reference"`
}

var residenceNumberRE = regexp.MustCompile(`^8[123]0000[0-9]{11}[0-9X]$`)

// MaxPurposeLength bounds an institution's stated purpose, in characters.
const MaxPurposeLength = 200

func (q *LinkageCheck) validate() (lifetime string, err error) {
	var ps []permit.Problem
	add := func(field, reason string) {
		ps = append(ps, permit.Problem{Field: field, Code: "invalid", Reason: reason})
	}
	if !q.TravelPermitType.Valid() {
		add("travel_permit_type", "must be hk, mo or tw")
	} else if lifetime, _, err = permit.ParseTravelPermitNumber(q.TravelPermitType, q.TravelPermitNumber); err != nil {
		add("travel_permit_number", permit.ErrorMessage(err))
	}
	n := q.ResidencePermitNumber
	if c, _ := permit.CheckCharacter(n[:min(len(n), 17)]); !residenceNumberRE.MatchString(n) || c != n[17] {
		add("residence_permit_number", "must be 18 characters: 810000, 820000 or 830000, 11 digits and a valid check character")
	} else if _, err := permit.ParseDate(n[6:10] + "-" + n[10:12] + "-" + n[12:14]); err != nil {
		add("residence_permit_number", "digits 7 to 14 are not a date")
	}
	if l := utf8.RuneCountInString(q.Name); !utf8.ValidString(q.Name) || l > 100 || hasControl(q.Name) {
		add("name", "at most 100 characters, no control characters")
	} else if p := permit.CheckFreeText("name", q.Name); p != nil {
		ps = append(ps, *p)
	}
	if l := utf8.RuneCountInString(strings.TrimSpace(q.Purpose)); !utf8.ValidString(q.Purpose) || l == 0 || l > MaxPurposeLength || hasControl(q.Purpose) {
		add("purpose", fmt.Sprintf("required: 1 to %d characters, no control characters", MaxPurposeLength))
	} else if p := permit.CheckFreeText("purpose", q.Purpose); p != nil {
		ps = append(ps, *p)
	}
	if ps != nil {
		return "", &permit.Error{Code: permit.ECodeInvalid, Message: "invalid linkage check", Problems: ps}
	}
	return lifetime, nil
}

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

// newReference is a random, unguessable check reference: "LC-" and 20
// base32 characters (100 bits).
func newReference() string {
	b := make([]byte, 13)
	rand.Read(b)
	return "LC-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:20]
}

// CheckLinkage answers an institution whether a travel permit and a
// residence permit belong to the same person. The answer is the same
// linked:false whatever the reason (unknown permit, another person's
// permit, a name that differs, a permit not valid), so the service is no
// oracle for the registry. Input that is malformed is refused with
// `invalid` before anything is looked up. Every check is audited under
// "linkage:<reference>" with the institution, its purpose, the identifiers
// asked about and the answer, never the name.
//
// On SQLite, whose one writer makes every durable commit wait its turn,
// the registry is read in a read-only transaction, which runs beside the
// writer; the audit event is then group-committed with those of concurrent
// checks (auditBatcher) and the answer returned only once it is durable.
// The registry read and the event are then not one transaction: an event
// records the answer given from the registry as it was at the read. On
// PostgreSQL, which already flushes concurrent commits together, the read
// and the event stay one write transaction: the extra read transaction
// cost more than grouping saved there (docs/performance.md).
func (a *Authority) CheckLinkage(ctx context.Context, c *permit.Client, q LinkageCheck) (*LinkageAnswer, error) {
	return a.checkLinkage(ctx, c, q, a.groupLinkageAudit)
}

// checkLinkage is CheckLinkage, with the audit event group-committed when
// group is set.
func (a *Authority) checkLinkage(ctx context.Context, c *permit.Client, q LinkageCheck, group bool) (*LinkageAnswer, error) {
	if c == nil || c.Role != permit.RoleInstitution {
		return nil, permit.Errorf(permit.ECodeForbidden, "only institutions may check linkage")
	}
	lifetime, err := q.validate()
	if err != nil {
		return nil, err
	}
	ans := &LinkageAnswer{Reference: newReference()}
	if !group {
		if err := a.checkLinkageOneTx(ctx, c, q, lifetime, ans); err != nil {
			return nil, err
		}
		return ans, nil
	}
	err = a.db.View(ctx, func(tx *store.Tx) error {
		ans.Linked, err = linkedInRegistry(ctx, tx, q.TravelPermitType, lifetime, q.ResidencePermitNumber, q.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := a.linkageAudit.append(ctx, linkageCheckEvent(ctx, c, q, lifetime, ans)); err != nil {
		return nil, err
	}
	return ans, nil
}

// checkLinkageOneTx reads the registry and audits the check in one write
// transaction.
func (a *Authority) checkLinkageOneTx(ctx context.Context, c *permit.Client, q LinkageCheck, lifetime string, ans *LinkageAnswer) error {
	return a.db.Update(ctx, func(tx *store.Tx) error {
		linked, err := linkedInRegistry(ctx, tx, q.TravelPermitType, lifetime, q.ResidencePermitNumber, q.Name)
		if err != nil {
			return err
		}
		ans.Linked = linked
		return tx.Audit(ctx, linkageCheckEvent(ctx, c, q, lifetime, ans))
	})
}

// linkageCheckEvent is the audit event of one check, made by the
// institution.
func linkageCheckEvent(ctx context.Context, c *permit.Client, q LinkageCheck, lifetime string, ans *LinkageAnswer) audit.Event {
	ctx = WithActor(ctx, "institution:"+c.Name)
	return event(ctx, "linkage.check", "linkage:"+ans.Reference, map[string]any{
		"institution": c.Name, "purpose": q.Purpose, "travel_permit": q.TravelPermitType.String() + ":" + lifetime,
		"residence_permit": q.ResidencePermitNumber, "name_given": q.Name != "", "linked": ans.Linked})
}

// linkedInRegistry decides a check; every negative is the same false.
func linkedInRegistry(ctx context.Context, tx *store.Tx, t permit.DocumentType, lifetime, residence, name string) (bool, error) {
	tpPerson, err := tx.PersonIDByPermit(ctx, t, lifetime)
	if permit.ErrorCode(err) == permit.ECodeNotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	rpPerson, err := tx.PersonIDByResidencePermit(ctx, residence)
	if permit.ErrorCode(err) == permit.ECodeNotFound || (err == nil && rpPerson != tpPerson) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	rec, err := tx.Record(ctx, tpPerson)
	if err != nil {
		return false, err
	}
	now := tx.Now()
	tp, rp := findPermit(rec, t.String()+":"+lifetime), rec.ResidencePermit
	switch {
	case tp == nil || tp.Status != permit.StatusValid || tp.Expired(now),
		rp == nil || rp.Status != permit.StatusValid || rp.Expired(now):
		return false, nil
	case name != "" && name != rec.Person.Name && normalizeName(name) != normalizeName(rec.Person.LatinName):
		return false, nil
	}
	return true, nil
}

// LinkageCheckRecord is what the authority finds under a check reference.
type LinkageCheckRecord struct {
	Reference   string          `json:"reference"`
	At          time.Time       `json:"at"`
	Institution string          `json:"institution"`
	Details     json.RawMessage `json:"details"`
}

var referenceRE = regexp.MustCompile(`^LC-[A-Z2-7]{20}$`)

// LinkageCheckByReference finds an institution's check by its reference,
// for the authority's officers (from the audit log, where each check is
// recorded).
func (a *Authority) LinkageCheckByReference(ctx context.Context, ref string) (*LinkageCheckRecord, error) {
	if !referenceRE.MatchString(ref) {
		return nil, permit.Errorf(permit.ECodeInvalid, "a check reference is LC- and 20 characters A-Z, 2-7")
	}
	es, err := a.db.AuditEvents(ctx, "linkage:"+ref, 0, 1)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 || es[0].Action != "linkage.check" {
		return nil, permit.Errorf(permit.ECodeNotFound, "no linkage check %s", ref)
	}
	e := es[0]
	return &LinkageCheckRecord{Reference: ref, At: e.At, Institution: strings.TrimPrefix(e.Actor, "institution:"), Details: e.Details}, nil
}
