package authority

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// OpenID4VCI 1.0 issuance, pre-authorized code flow (spec/formats.md §9).
// An offer is made to a person (at the counter, or online after proofing);
// its transaction code goes to the phone on record. The wallet trades the
// pre-authorized code and the transaction code for an access token, fetches
// a c_nonce, and asks for the credential with a key proof over the nonce.
// The credential is issued by the same code as every other issuance, with
// its rules, quota, supersession, status entry and audit.

// Credential configuration ids of the issuer metadata.
const (
	ConfigEPermit = "epermit_ep1"           // the e-permit, format credential.FormatEP1
	ConfigLinkage = "permit_linkage_sd_jwt" // the linkage proof, format dc+sd-jwt
)

// Lifetimes and limits of the pre-authorized code flow.
const (
	OfferTTL       = 10 * time.Minute // the pre-authorized code
	AccessTokenTTL = 5 * time.Minute
	CNonceTTL      = 5 * time.Minute
	// TxCodeMaxTries wrong transaction codes void an offer.
	TxCodeMaxTries = 5
	// ProofSkew is how far a key proof's iat may lie from now.
	ProofSkew = 5 * time.Minute
	// TxCodeLength is the transaction code's length (digits).
	TxCodeLength = 6
	// MaxOffersOnline offers (each an SMS to the phone on record) may be
	// made online for one holder within OfferLimitWindow; counter offers,
	// made by an officer with the holder present, are not counted.
	MaxOffersOnline  = 3
	OfferLimitWindow = 10 * time.Minute
)

// PreAuthorizedGrant is the grant type of the pre-authorized code flow.
const PreAuthorizedGrant = "urn:ietf:params:oauth:grant-type:pre-authorized_code"

// OfferRequest is what an officer enters to make an offer at the counter.
type OfferRequest struct {
	Kind           permit.Kind // TemporaryEPermit or LinkageProofKind
	DocumentType   permit.DocumentType
	DocumentNumber string        // as printed
	Reason         permit.Reason // e-permits only
	// Lang is the holder's language, "en", "zh-Hans" or "zh-Hant" (the
	// default): the transaction code's message is written in it.
	Lang string
}

// Offer is a credential offer just made. Code is the pre-authorized code:
// whoever holds it (and the transaction code sent to the phone) may redeem
// it, so it is shown once, to the holder only.
type Offer struct {
	Code            string
	ConfigurationID string
	ExpiresAt       time.Time
	PhoneHint       string // where the transaction code went, masked
	Issuer          string // the credential issuer identifier
	PublicURL       string
}

// OfferObject is the credential offer of OpenID4VCI §4.1.1.
func (o *Offer) OfferObject() map[string]any {
	return map[string]any{
		"credential_issuer":            o.Issuer,
		"credential_configuration_ids": []string{o.ConfigurationID},
		"grants": map[string]any{PreAuthorizedGrant: map[string]any{
			"pre-authorized_code": o.Code,
			"tx_code": map[string]any{"input_mode": "numeric", "length": TxCodeLength,
				"description": "The code sent by SMS to the phone on record"},
		}},
	}
}

// ByValue is the offer as an openid-credential-offer:// URI carrying it.
func (o *Offer) ByValue() string {
	b, _ := json.Marshal(o.OfferObject())
	return "openid-credential-offer://?credential_offer=" + url.QueryEscape(string(b))
}

// URI is where the offer can be fetched (credential_offer_uri); the code in
// it is the secret, so the URI is as secret as the code.
func (o *Offer) URI() string { return o.PublicURL + "/oid4vci/offers/" + o.Code }

// ByReference is the offer as an openid-credential-offer:// URI pointing to
// URI: shorter, for QR codes.
func (o *Offer) ByReference() string {
	return "openid-credential-offer://?credential_offer_uri=" + url.QueryEscape(o.URI())
}

// IssuerIdentifier is the credential issuer identifier: the public URL,
// also the linkage proof's iss and the key proofs' aud.
func (a *Authority) IssuerIdentifier() string { return a.cfg.PublicURL }

func configurationOf(k permit.Kind) string {
	if k == permit.LinkageProofKind {
		return ConfigLinkage
	}
	return ConfigEPermit
}

// OfferAtCounter makes an offer for the holder of a permit an officer has
// checked in person, and sends the transaction code to the phone on record.
func (a *Authority) OfferAtCounter(ctx context.Context, req OfferRequest) (*Offer, error) {
	if req.Kind != permit.TemporaryEPermit && req.Kind != permit.LinkageProofKind {
		return nil, permit.Errorf(permit.ECodeInvalid, "an offer is for an e-permit or a linkage proof")
	}
	if req.Kind == permit.TemporaryEPermit {
		if _, err := permit.ParseReason(req.Reason.String()); err != nil {
			return nil, err
		}
	}
	lifetime, _, err := permit.ParseTravelPermitNumber(req.DocumentType, req.DocumentNumber)
	if err != nil {
		return nil, err
	}
	return a.offer(ctx, func(tx *store.Tx) (int64, error) {
		return tx.PersonIDByPermit(ctx, req.DocumentType, lifetime)
	}, req.Kind, req.DocumentType, lifetime, req.Reason, permit.ChannelCounter, req.Lang, "")
}

// OfferMine makes an offer to the proven applicant of the session, for a
// wallet of their choice ("add to another wallet"); the transaction code
// goes to the phone on record, in lang (see OfferRequest.Lang). At most
// MaxOffersOnline are made per holder within OfferLimitWindow, sessions
// together (rate_limited): each one texts the holder's phone.
func (a *Authority) OfferMine(ctx context.Context, token string, kind permit.Kind, reason permit.Reason, lang string) (*Offer, error) {
	if kind != permit.TemporaryEPermit && kind != permit.LinkageProofKind {
		return nil, permit.Errorf(permit.ECodeInvalid, "an offer is for an e-permit or a linkage proof")
	}
	var s *permit.ApplicantSession
	if err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		s, err = a.session(ctx, tx, token)
		return err
	}); err != nil {
		return nil, err
	}
	if kind == permit.TemporaryEPermit {
		if _, err := permit.ParseReason(reason.String()); err != nil {
			return nil, err
		}
	}
	ctx = WithActor(ctx, "holder:"+s.DocType.String()+":"+s.DocNumber)
	return a.offer(ctx, func(*store.Tx) (int64, error) { return s.PersonID, nil },
		kind, s.DocType, s.DocNumber, reason, permit.ChannelOnline, lang, fmt.Sprintf("offer:%d", s.PersonID))
}

// txCodeMessages are the transaction code's message in each language the
// pages speak; %[1]s is the code, %[2]d the offer's lifetime in minutes.
var txCodeMessages = map[string]string{
	"en":      "Your e-permit wallet transaction code is %[1]s. It expires in %[2]d minutes. Enter it only in your own wallet.",
	"zh-Hans": "您的电子通行证钱包交易码为 %[1]s，%[2]d 分钟内有效。只可在您自己的钱包中输入。",
	"zh-Hant": "您的電子通行證錢包交易碼為 %[1]s，%[2]d 分鐘內有效。只可在您自己的錢包中輸入。",
}

// txCodeMessage is the transaction code's message in lang, Traditional
// Chinese for a language the pages do not speak.
func txCodeMessage(lang, code string) string {
	f, ok := txCodeMessages[lang]
	if !ok {
		f = txCodeMessages["zh-Hant"]
	}
	return fmt.Sprintf(f, code, int(OfferTTL.Minutes()))
}

func (a *Authority) offer(ctx context.Context, person func(*store.Tx) (int64, error), kind permit.Kind,
	t permit.DocumentType, lifetime string, reason permit.Reason, channel permit.Channel, lang, limitKey string) (*Offer, error) {
	if a.cfg.Notifier == nil {
		// Before anything is written: an offer whose transaction code
		// cannot be sent is of no use to anyone.
		return nil, permit.Errorf(permit.ECodeNotReady, "transaction codes cannot be sent now; try again later")
	}
	code, txCode := randomText(32), randomCode()
	var phone string
	o := &Offer{Code: code, ConfigurationID: configurationOf(kind), Issuer: a.IssuerIdentifier(), PublicURL: a.cfg.PublicURL}
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		id, err := person(tx)
		if err != nil {
			return err
		}
		if limitKey != "" {
			// CountAttempts locks the key until commit (PostgreSQL; a SQLite
			// write transaction is alone): parallel requests cannot all pass.
			n, err := tx.CountAttempts(ctx, limitKey, tx.Now().Add(-OfferLimitWindow))
			if err != nil {
				return err
			}
			if n >= MaxOffersOnline {
				return permit.Errorf(permit.ECodeRateLimited, "no more than %d offers can be made in %d minutes; try again later",
					MaxOffersOnline, int(OfferLimitWindow.Minutes()))
			}
			if err := tx.AddAttempt(ctx, limitKey); err != nil {
				return err
			}
		}
		rec, err := tx.Record(ctx, id)
		if err != nil {
			return err
		}
		phone = rec.Person.Phone
		now := tx.Now()
		o.ExpiresAt = now.Add(OfferTTL)
		so := &store.Offer{CodeHash: hashSecret(code), PersonID: id, DocType: t, DocNumber: lifetime, Kind: kind,
			Reason: reason, Channel: channel, TxCodeHash: codeHash(code, txCode), State: store.OfferOffered,
			CreatedAt: now, ExpiresAt: o.ExpiresAt}
		if err := tx.AddOffer(ctx, so); err != nil {
			return err
		}
		return tx.Audit(ctx, event(ctx, "oid4vci.offer", offerSubject(so.CodeHash), map[string]any{
			"kind": kind, "document": t.String() + ":" + lifetime, "channel": channel, "configuration": o.ConfigurationID,
			"exp": o.ExpiresAt.Unix()}))
	})
	if err != nil {
		return nil, err
	}
	o.PhoneHint = maskPhone(phone)
	if err := a.cfg.Notifier.Notify(ctx, phone, txCodeMessage(lang, txCode)); err != nil {
		// The gateway's failure is the operator's to fix; the holder gets
		// a 503 and may ask again. The offer is voided: no one got its
		// transaction code, and a live offer should be one someone can use.
		a.log.Error("sending a transaction code failed", "offer", offerSubject(hashSecret(code)), "err", err)
		// Even when the request's context ended (the gateway timed out
		// with it): the offer must not stay live.
		if verr := a.voidOffer(context.WithoutCancel(ctx), hashSecret(code), "sms_failed"); verr != nil {
			a.log.Error("voiding an offer whose transaction code was not sent failed", "offer", offerSubject(hashSecret(code)), "err", verr)
		}
		return nil, permit.Errorf(permit.ECodeNotReady, "the transaction code could not be sent; try again later")
	}
	return o, nil
}

// voidOffer voids an offer still waiting for its wallet, in a transaction
// of its own, audited with why.
func (a *Authority) voidOffer(ctx context.Context, codeHash []byte, why string) error {
	return a.db.Update(ctx, func(tx *store.Tx) error {
		o, err := tx.OfferByCode(ctx, codeHash)
		if err != nil {
			return err
		}
		if o.State != store.OfferOffered {
			return nil
		}
		o.State = store.OfferVoid
		if err := tx.UpdateOffer(ctx, o); err != nil {
			return err
		}
		return tx.Audit(ctx, event(ctx, "oid4vci.offer_void", offerSubject(codeHash), map[string]any{"reason": why}))
	})
}

// offerSubject names an offer in the audit log without its secret code:
// the first 8 bytes of the code's hash.
func offerSubject(codeHash []byte) string { return "offer:" + hex.EncodeToString(codeHash[:8]) }

// OfferByCode rebuilds an unredeemed offer from its code, for its
// credential_offer_uri.
func (a *Authority) OfferByCode(ctx context.Context, code string) (*Offer, error) {
	var o *Offer
	err := a.db.View(ctx, func(tx *store.Tx) error {
		so, err := tx.OfferByCode(ctx, hashSecret(code))
		if err != nil || so.State != store.OfferOffered || !tx.Now().Before(so.ExpiresAt) {
			return permit.Errorf(permit.ECodeNotFound, "no such credential offer, or it was used or has expired")
		}
		o = &Offer{Code: code, ConfigurationID: configurationOf(so.Kind), ExpiresAt: so.ExpiresAt,
			Issuer: a.IssuerIdentifier(), PublicURL: a.cfg.PublicURL}
		return nil
	})
	return o, err
}

// AccessToken is the token endpoint's answer.
type AccessToken struct {
	Token           string
	ExpiresIn       time.Duration
	ConfigurationID string // the authorization_details' credential_configuration_id
}

var errGrant = permit.Errorf(permit.ECodeInvalidGrant, "the pre-authorized code is unknown, used, expired or void")

// RedeemOffer is the token endpoint of the pre-authorized code flow: it
// trades an offer's code and transaction code for an access token, once.
// A wrong transaction code counts; the TxCodeMaxTries-th voids the offer.
// Every failure is invalid_grant, as OpenID4VCI §6.3 says.
func (a *Authority) RedeemOffer(ctx context.Context, code, txCode string) (*AccessToken, error) {
	if code == "" || len(code) > 128 || len(txCode) > 32 {
		return nil, errGrant
	}
	token := randomText(32)
	var out *AccessToken
	var refused error
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		refused = nil
		o, err := tx.OfferByCode(ctx, hashSecret(code))
		if permit.ErrorCode(err) == permit.ECodeNotFound {
			refused = errGrant
			return nil
		} else if err != nil {
			return err
		}
		now := tx.Now()
		if o.State != store.OfferOffered || !now.Before(o.ExpiresAt) {
			refused = errGrant
			return nil
		}
		ctx := WithActor(ctx, "holder:"+o.DocType.String()+":"+o.DocNumber)
		if subtle.ConstantTimeCompare(codeHash(code, txCode), o.TxCodeHash) != 1 {
			o.Tries++
			action := "oid4vci.tx_code_wrong"
			refused = permit.Errorf(permit.ECodeInvalidGrant, "wrong transaction code")
			if o.Tries >= TxCodeMaxTries {
				o.State, action = store.OfferVoid, "oid4vci.offer_void"
				refused = permit.Errorf(permit.ECodeInvalidGrant, "wrong transaction code: too many tries, the offer is void")
			}
			if err := tx.UpdateOffer(ctx, o); err != nil {
				return err
			}
			// The wrong try is committed with its event: it counts.
			return tx.Audit(ctx, event(ctx, action, offerSubject(o.CodeHash), map[string]any{"tries": o.Tries}))
		}
		o.State, o.TokenHash, o.TokenExpiresAt = store.OfferRedeemed, hashSecret(token), now.Add(AccessTokenTTL)
		if err := tx.UpdateOffer(ctx, o); err != nil {
			return err
		}
		out = &AccessToken{Token: token, ExpiresIn: AccessTokenTTL, ConfigurationID: configurationOf(o.Kind)}
		return tx.Audit(ctx, event(ctx, "oid4vci.token", offerSubject(o.CodeHash), nil))
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	return out, nil
}

// CNonce is the nonce endpoint: a fresh c_nonce, valid for CNonceTTL and
// accepted in one key proof only.
func (a *Authority) CNonce(ctx context.Context) (string, error) {
	nonce := randomText(24)
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		return tx.AddCNonce(ctx, nonce, tx.Now().Add(CNonceTTL))
	})
	return nonce, err
}

// CredentialRequest is a wallet's credential request.
type CredentialRequest struct {
	AccessToken     string
	ConfigurationID string
	Proof           string // the openid4vci-proof+jwt
}

// IssueToWallet is the credential endpoint: it checks the access token and
// the key proof (typ, ES256, aud = the issuer identifier, a fresh iat, and a
// c_nonce that it consumes in the same transaction as the issuance), then
// issues the offered credential bound to the proof's key, under the same
// rules, quota, supersession and audit as every issuance. The offer is
// spent: one credential per offer.
func (a *Authority) IssueToWallet(ctx context.Context, req CredentialRequest) (*permit.Credential, error) {
	// The proof is checked outside the transaction, but reported after the
	// access token: who may ask comes first.
	var proof *credential.ProofJWT
	var proofErr error
	switch p, err := credential.ParseProofJWT(req.Proof); {
	case req.Proof == "":
		proofErr = permit.Errorf(permit.ECodeInvalidProof, "a jwt key proof is required")
	case err != nil:
		proofErr = permit.Errorf(permit.ECodeInvalidProof, "%v", err)
	case p.Audience != a.IssuerIdentifier():
		proofErr = permit.Errorf(permit.ECodeInvalidProof, "the key proof's aud must be %s", a.IssuerIdentifier())
	case p.Nonce == "":
		proofErr = permit.Errorf(permit.ECodeInvalidNonce, "the key proof has no c_nonce: ask the nonce endpoint for one")
	default:
		proof = p
	}
	var out *permit.Credential
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		o, err := tx.OfferByToken(ctx, hashSecret(req.AccessToken))
		now := tx.Now()
		if permit.ErrorCode(err) == permit.ECodeNotFound || (err == nil && (o.State != store.OfferRedeemed || !now.Before(o.TokenExpiresAt))) {
			return permit.Errorf(permit.ECodeInvalidToken, "the access token is unknown, expired or spent")
		} else if err != nil {
			return err
		}
		if req.ConfigurationID != configurationOf(o.Kind) {
			return permit.Errorf(permit.ECodeUnknownConfiguration, "this access token is for %s", configurationOf(o.Kind))
		}
		if proofErr != nil {
			return proofErr
		}
		if d := now.Sub(proof.IssuedAt); d > ProofSkew || d < -ProofSkew {
			return permit.Errorf(permit.ECodeInvalidProof, "the key proof's iat is more than %v from now", ProofSkew)
		}
		// The nonce is consumed in this transaction: if the issuance fails it
		// is not, and of parallel requests with one nonce exactly one gets it.
		ok, err := tx.ConsumeCNonce(ctx, proof.Nonce)
		if err != nil {
			return err
		}
		if !ok {
			return permit.Errorf(permit.ECodeInvalidNonce, "the c_nonce is unknown, expired or used: ask the nonce endpoint for a fresh one")
		}
		ctx := WithActor(ctx, "holder:"+o.DocType.String()+":"+o.DocNumber)
		channel := o.Channel
		if o.Kind == permit.LinkageProofKind {
			out, err = a.issueLinkage(ctx, tx, o.PersonID, o.DocType, o.DocNumber, proof.Holder, channel)
		} else {
			p, tp, lerr := tx.LockPermitHolder(ctx, o.DocType, o.DocNumber)
			if lerr != nil {
				return lerr
			}
			if p.ID != o.PersonID {
				return permit.Errorf(permit.ECodeCredentialRequestDenied, "the permit changed hands since the offer")
			}
			out, err = a.issue(ctx, tx, issueRequest{person: p, permit: tp, reason: o.Reason, holder: proof.Holder, channel: channel})
		}
		if err != nil {
			return err
		}
		o.State, o.CredentialID = store.OfferIssued, out.ID
		if err := tx.UpdateOffer(ctx, o); err != nil {
			return err
		}
		return tx.Audit(ctx, event(ctx, "oid4vci.credential", offerSubject(o.CodeHash),
			map[string]any{"cti": hex.EncodeToString(out.ID)}))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
