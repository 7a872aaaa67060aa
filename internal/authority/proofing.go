package authority

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// Notifier delivers one-time codes to the phone on record.
type Notifier interface {
	Notify(ctx context.Context, phone, message string) error
}

// FaceChecker compares a live selfie with the portrait on file, for the
// real-person (实人) check.
type FaceChecker interface {
	Compare(ctx context.Context, portrait, selfie []byte) (match bool, err error)
}

// Face check modes.
const (
	FaceHTTP    = "http"    // an external provider through FaceChecker
	FaceOfficer = "officer" // the selfie waits for an officer's decision
	FaceDemo    = "demo"    // accepted as is; only for `epermit demo`
)

// Proofing limits. Attempts count every start, matched or not, so that
// guessing a person's details is slow from one client and for one permit.
const (
	CodeTTL          = 5 * time.Minute
	CodeMaxTries     = 5
	ProofingTTL      = 30 * time.Minute // the whole proofing, face review included
	SessionTTL       = 30 * time.Minute // an applicant session after proofing
	attemptWindow    = 15 * time.Minute
	maxDocAttempts   = 5
	maxClientAttempt = 20
	maxSelfieSize    = 2 << 20
)

// ProofingStart is what an applicant gives to begin: their permit and the
// details that must match the registry.
type ProofingStart struct {
	DocumentType   permit.DocumentType
	DocumentNumber string // as printed
	Name           string // Chinese name or latin name as registered
	BirthDate      permit.Date
	Client         string // the client's address, for rate limiting
	// Lang is the applicant's language, "en", "zh-Hans" or "zh-Hant" (the
	// default): the one-time code's message is written in it.
	Lang string
}

// codeMessages are the one-time code's message in each language the pages
// speak; %[1]s is the code, %[2]d its lifetime in minutes.
var codeMessages = map[string]string{
	"en":      "Your e-permit verification code is %[1]s. It expires in %[2]d minutes. Never share it.",
	"zh-Hans": "您的电子通行证验证码为 %[1]s，%[2]d 分钟内有效。切勿告诉他人。",
	"zh-Hant": "您的電子通行證驗證碼為 %[1]s，%[2]d 分鐘內有效。切勿告訴他人。",
}

// codeMessage is the one-time code's message in lang, Traditional Chinese
// for a language the pages do not speak.
func codeMessage(lang, code string) string {
	f, ok := codeMessages[lang]
	if !ok {
		f = codeMessages["zh-Hant"]
	}
	return fmt.Sprintf(f, code, int(CodeTTL.Minutes()))
}

// ProofingStarted is the answer to a start: a secret the applicant presents
// in the next steps, and where the code went.
type ProofingStarted struct {
	Secret        string
	PhoneHint     string // e.g. "+852****4567"
	CodeExpiresAt time.Time
}

// ProofingState is where a proofing session stands. Token is set once, when
// the session is verified and an applicant session is handed out.
type ProofingState struct {
	State     string
	Token     string
	ExpiresAt time.Time // of the applicant session, with Token
	// Refusal, once the code has proven the phone, is why the rules will
	// not issue to this applicant (permit expired or cancelled, quota
	// used), so that they learn it before the face check; nil if they may
	// apply. NextApplication is when the quota allows one again, with
	// ECodeQuotaExceeded.
	Refusal         error
	NextApplication time.Time
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func codeHash(secret, code string) []byte {
	h := sha256.Sum256([]byte(secret + "\x00" + code))
	return h[:]
}

func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	return fmt.Sprintf("%06d", n.Int64())
}

// normalizeName makes a latin name comparable: upper case, single spaces,
// comma optional.
func normalizeName(s string) string {
	s = strings.ToUpper(strings.ReplaceAll(s, ",", " "))
	return strings.Join(strings.Fields(s), " ")
}

func maskPhone(p string) string {
	if len(p) < 8 {
		return "****"
	}
	return p[:4] + strings.Repeat("*", len(p)-8) + p[len(p)-4:]
}

// noCandidate stands in for the holder of an unknown permit; its latin
// name has the length of a usual one.
var noCandidate = store.ProofingCandidate{Name: "\x00", LatinName: "\x00UNKNOWN, NO ONE"}

var errMismatch = permit.Errorf(permit.ECodeDetailsMismatch,
	"the details do not match our records; check the document number, name and birth date")

// StartProofing checks the applicant's details against the registry and
// sends a one-time code to the phone on record. Any mismatch, including an
// unknown permit, gets the same details_mismatch error, which never says
// which field was wrong. Attempts are limited per permit and per client.
func (a *Authority) StartProofing(ctx context.Context, in ProofingStart) (*ProofingStarted, error) {
	if a.cfg.Notifier == nil {
		// Before anything is counted: the applicant loses no attempt to
		// the operator's missing configuration.
		return nil, permit.Errorf(permit.ECodeNotReady, "one-time codes cannot be sent now; try again later")
	}
	lifetime, _, err := permit.ParseTravelPermitNumber(in.DocumentType, strings.ToUpper(strings.TrimSpace(in.DocumentNumber)))
	if err != nil {
		// The number's form is public knowledge: saying which field is
		// wrong tells nothing about the registry.
		return nil, &permit.Error{Code: permit.ECodeInvalid, Message: permit.ErrorMessage(err),
			Problems: []permit.Problem{{Field: "document_number", Code: "number_invalid", Reason: permit.ErrorMessage(err)}}}
	}
	docKey := "doc:" + in.DocumentType.String() + ":" + lifetime
	clientKey := "client:" + in.Client
	var started *ProofingStarted
	var phone, code string
	var refused error
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		since := tx.Now().Add(-attemptWindow)
		nDoc, err := tx.CountAttempts(ctx, docKey, since)
		if err != nil {
			return err
		}
		nClient, err := tx.CountAttempts(ctx, clientKey, since)
		if err != nil {
			return err
		}
		if nDoc >= maxDocAttempts || nClient >= maxClientAttempt {
			refused = permit.Errorf(permit.ECodeTooMany, "too many attempts; try again in %d minutes", int(attemptWindow.Minutes()))
			return nil
		}
		if err := tx.AddAttempt(ctx, docKey); err != nil {
			return err
		}
		if err := tx.AddAttempt(ctx, clientKey); err != nil {
			return err
		}
		// An unknown permit is compared with a stand-in that matches no
		// one, so it runs the same statement and comparison as a known
		// permit with wrong details: the timing does not tell which.
		p, err := tx.ProofingCandidate(ctx, in.DocumentType, lifetime)
		if err != nil {
			return err
		}
		known := p != nil
		if !known {
			p = &noCandidate
		}
		nameOK := in.Name != "" && (in.Name == p.Name || normalizeName(in.Name) == normalizeName(p.LatinName))
		if !known || !nameOK || in.BirthDate != p.BirthDate {
			refused = errMismatch // the attempt stays recorded
			return nil
		}
		secret := randomText(32)
		code = randomCode()
		now := tx.Now()
		s := &store.ProofingSession{SecretHash: hashSecret(secret), PersonID: p.PersonID, DocType: in.DocumentType,
			DocNumber: lifetime, State: store.ProofingCodeSent, CodeHash: codeHash(secret, code),
			CodeExpiresAt: now.Add(CodeTTL), CreatedAt: now, ExpiresAt: now.Add(ProofingTTL)}
		if err := tx.AddProofingSession(ctx, s); err != nil {
			return err
		}
		phone = p.Phone
		started = &ProofingStarted{Secret: secret, PhoneHint: maskPhone(p.Phone), CodeExpiresAt: s.CodeExpiresAt}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refused != nil {
		return nil, refused
	}
	msg := codeMessage(in.Lang, code)
	if err := a.cfg.Notifier.Notify(ctx, phone, msg); err != nil {
		// The gateway's failure is the operator's to fix; the applicant
		// gets a 503 and may try again later.
		a.log.Error("sending a one-time code failed", "err", err)
		return nil, permit.Errorf(permit.ECodeNotReady, "the one-time code could not be sent; try again later")
	}
	return started, nil
}

// How often a code may be sent again within one proofing session.
const (
	ResendAfter = 30 * time.Second // from the last code sent
	MaxResends  = 3
)

// ResendCode sends a new one-time code for a session still waiting for
// one, in lang: the code before it stops working. It is refused sooner
// than ResendAfter after the last code (rate_limited) and after
// MaxResends (too_many_attempts); the tries left are not reset.
func (a *Authority) ResendCode(ctx context.Context, secret, lang string) (*ProofingStarted, error) {
	if a.cfg.Notifier == nil {
		return nil, permit.Errorf(permit.ECodeNotReady, "one-time codes cannot be sent now; try again later")
	}
	var phone, code string
	var out *ProofingStarted
	err := a.proofingStep(ctx, secret, func(tx *store.Tx, s *store.ProofingSession) (error, error) {
		switch {
		case s.State == store.ProofingFailed:
			return permit.Errorf(permit.ECodeTooMany, "too many wrong codes; start again"), nil
		case s.State != store.ProofingCodeSent || s.CodeHash == nil:
			return permit.Errorf(permit.ECodeWrongState, "the code was already accepted"), nil
		}
		now := tx.Now()
		if sent := s.CodeExpiresAt.Add(-CodeTTL); now.Before(sent.Add(ResendAfter)) {
			return permit.Errorf(permit.ECodeRateLimited, "a new code can be sent %d seconds after the last one",
				int(ResendAfter.Seconds())), nil
		}
		key := fmt.Sprintf("resend:%d", s.ID)
		n, err := tx.CountAttempts(ctx, key, s.CreatedAt)
		if err != nil {
			return nil, err
		}
		if n >= MaxResends {
			return permit.Errorf(permit.ECodeTooMany, "no more codes can be sent for this attempt; start again later"), nil
		}
		if err := tx.AddAttempt(ctx, key); err != nil {
			return nil, err
		}
		p, err := tx.ProofingCandidate(ctx, s.DocType, s.DocNumber)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return nil, fmt.Errorf("authority: proofing session %d: the permit left the registry", s.ID)
		}
		code = randomCode()
		s.CodeHash, s.CodeExpiresAt = codeHash(secret, code), now.Add(CodeTTL)
		phone = p.Phone
		out = &ProofingStarted{PhoneHint: maskPhone(p.Phone), CodeExpiresAt: s.CodeExpiresAt}
		return nil, tx.UpdateProofingSession(ctx, s)
	})
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Notifier.Notify(ctx, phone, codeMessage(lang, code)); err != nil {
		a.log.Error("sending a one-time code failed", "err", err)
		return nil, permit.Errorf(permit.ECodeNotReady, "the one-time code could not be sent; try again later")
	}
	return out, nil
}

// proofingStep loads the session for secret in a transaction, checks that it
// is alive and runs step on it. step returns the caller-visible refusal (if
// any) separately from internal errors, so that what it changed (a failed
// try counted) is committed even when the request is refused.
func (a *Authority) proofingStep(ctx context.Context, secret string, step func(tx *store.Tx, s *store.ProofingSession) (refusal error, err error)) error {
	var refusal error
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := tx.ProofingSession(ctx, hashSecret(secret))
		if permit.ErrorCode(err) == permit.ECodeNotFound {
			refusal = permit.Errorf(permit.ECodeUnauthorized, "unknown proofing session")
			return nil
		} else if err != nil {
			return err
		}
		if !tx.Now().Before(s.ExpiresAt) {
			refusal = permit.Errorf(permit.ECodeSessionExpired, "this proofing session has expired; start again")
			return nil
		}
		refusal, err = step(tx, s)
		return err
	})
	if err != nil {
		return err
	}
	return refusal
}

// SubmitCode checks the one-time code. A code is single use, valid for
// CodeTTL, and the session fails after CodeMaxTries wrong codes.
func (a *Authority) SubmitCode(ctx context.Context, secret, code string) (*ProofingState, error) {
	var st ProofingState
	err := a.proofingStep(ctx, secret, func(tx *store.Tx, s *store.ProofingSession) (error, error) {
		switch {
		case s.State == store.ProofingFailed:
			return permit.Errorf(permit.ECodeTooMany, "too many wrong codes; start again"), nil
		case s.State != store.ProofingCodeSent || s.CodeHash == nil:
			return permit.Errorf(permit.ECodeCodeInvalid, "the code is not valid (already used?)"), nil
		case !tx.Now().Before(s.CodeExpiresAt):
			return permit.Errorf(permit.ECodeCodeExpired, "the code has expired; start again"), nil
		}
		if subtle.ConstantTimeCompare(codeHash(secret, code), s.CodeHash) != 1 {
			s.CodeTries++
			refusal := permit.Errorf(permit.ECodeCodeInvalid, "wrong code; %d tries left", CodeMaxTries-s.CodeTries)
			if s.CodeTries >= CodeMaxTries {
				s.State, s.CodeHash = store.ProofingFailed, nil
				refusal = permit.Errorf(permit.ECodeTooMany, "too many wrong codes; start again")
				if err := tx.Audit(ctx, event(ctx, "proofing.failed", s.DocType.String()+":"+s.DocNumber,
					map[string]any{"session": s.ID, "why": "code"})); err != nil {
					return nil, err
				}
			}
			return refusal, tx.UpdateProofingSession(ctx, s)
		}
		s.State, s.CodeHash = store.ProofingFaceRequired, nil
		st.State = s.State
		// The phone is proven: only now may the answer depend on the
		// person's record (the first step must tell nothing).
		var err error
		if st.Refusal, st.NextApplication, err = a.check(ctx, tx, s.PersonID, s.DocType, s.DocNumber); err != nil {
			return nil, err
		}
		return nil, tx.UpdateProofingSession(ctx, s)
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// SubmitFace runs the real-person check on a live selfie. Depending on the
// configured mode it asks the face provider, queues the selfie for an
// officer, or (demo only) accepts it.
func (a *Authority) SubmitFace(ctx context.Context, secret string, selfie []byte) (*ProofingState, error) {
	if len(selfie) == 0 || len(selfie) > maxSelfieSize || !permit.IsImage(selfie) {
		return nil, permit.Errorf(permit.ECodeInvalid, "the selfie must be a JPEG or PNG image of at most %d bytes", maxSelfieSize)
	}
	match := false
	if a.cfg.FaceMode == FaceHTTP {
		// The provider is slow and remote: ask it outside any transaction.
		var portrait []byte
		err := a.proofingStep(ctx, secret, func(tx *store.Tx, s *store.ProofingSession) (error, error) {
			if s.State != store.ProofingFaceRequired {
				return permit.Errorf(permit.ECodeWrongState, "the face check is not the next step of this session"), nil
			}
			rec, err := tx.Record(ctx, s.PersonID)
			if err == nil {
				portrait = rec.Person.Portrait
			}
			return nil, err
		})
		if err != nil {
			return nil, err
		}
		if match, err = a.cfg.FaceCheck.Compare(ctx, portrait, selfie); err != nil {
			return nil, fmt.Errorf("authority: face check: %w", err)
		}
	}
	var st *ProofingState
	err := a.proofingStep(ctx, secret, func(tx *store.Tx, s *store.ProofingSession) (error, error) {
		if s.State != store.ProofingFaceRequired {
			return permit.Errorf(permit.ECodeWrongState, "the face check is not the next step of this session"), nil
		}
		subject := s.DocType.String() + ":" + s.DocNumber
		switch a.cfg.FaceMode {
		case FaceOfficer:
			s.State, s.Selfie = store.ProofingFacePending, selfie
			st = &ProofingState{State: s.State}
			return nil, tx.UpdateProofingSession(ctx, s)
		case FaceHTTP:
			if !match {
				s.State = store.ProofingFailed
				if err := tx.Audit(ctx, event(ctx, "proofing.failed", subject, map[string]any{"session": s.ID, "why": "face"})); err != nil {
					return nil, err
				}
				return permit.Errorf(permit.ECodeFaceRejected, "the face check did not match the photo on file"), tx.UpdateProofingSession(ctx, s)
			}
		case FaceDemo:
		default:
			return nil, fmt.Errorf("authority: face mode %q not configured", a.cfg.FaceMode)
		}
		var err error
		st, err = a.verified(ctx, tx, s, "auto")
		return nil, err
	})
	return st, err
}

// verified marks a session as proven and hands out the applicant session.
func (a *Authority) verified(ctx context.Context, tx *store.Tx, s *store.ProofingSession, how string) (*ProofingState, error) {
	s.State, s.Selfie, s.SessionIssued = store.ProofingVerified, nil, true
	if err := tx.UpdateProofingSession(ctx, s); err != nil {
		return nil, err
	}
	token := randomText(32)
	now := tx.Now()
	as := &permit.ApplicantSession{TokenHash: hashSecret(token), PersonID: s.PersonID, DocType: s.DocType,
		DocNumber: s.DocNumber, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := tx.AddApplicantSession(ctx, as); err != nil {
		return nil, err
	}
	if err := tx.Audit(ctx, event(ctx, "proofing.verified", s.DocType.String()+":"+s.DocNumber,
		map[string]any{"session": s.ID, "face": a.cfg.FaceMode, "by": how})); err != nil {
		return nil, err
	}
	return &ProofingState{State: s.State, Token: token, ExpiresAt: as.ExpiresAt}, nil
}

// ProofingStatus reports where a session stands. When an officer has
// approved the face since the applicant last asked, it hands out the
// applicant session, once.
func (a *Authority) ProofingStatus(ctx context.Context, secret string) (*ProofingState, error) {
	var st *ProofingState
	err := a.proofingStep(ctx, secret, func(tx *store.Tx, s *store.ProofingSession) (error, error) {
		if s.State == store.ProofingVerified && !s.SessionIssued {
			var err error
			st, err = a.verified(ctx, tx, s, "officer")
			return nil, err
		}
		st = &ProofingState{State: s.State}
		return nil, nil
	})
	return st, err
}

// FaceReview is a selfie waiting for an officer, with the portrait on file
// to compare it with.
type FaceReview struct {
	ID        int64
	Document  string // "hk:H12345678"
	Selfie    []byte
	Portrait  []byte
	CreatedAt time.Time
}

// PendingFaceReviews lists the selfies waiting for an officer.
func (a *Authority) PendingFaceReviews(ctx context.Context) ([]FaceReview, error) {
	var out []FaceReview
	err := a.db.View(ctx, func(tx *store.Tx) error {
		ss, err := tx.PendingFaceReviews(ctx)
		for _, s := range ss {
			rec, err := tx.Record(ctx, s.PersonID)
			if err != nil {
				return err
			}
			out = append(out, FaceReview{ID: s.ID, Document: s.DocType.String() + ":" + s.DocNumber,
				Selfie: s.Selfie, Portrait: rec.Person.Portrait, CreatedAt: s.CreatedAt})
		}
		return err
	})
	return out, err
}

// PendingFaceReview returns one selfie waiting for an officer, with the
// portrait on file (not_found if it is not waiting, or has expired).
func (a *Authority) PendingFaceReview(ctx context.Context, id int64) (*FaceReview, error) {
	var out *FaceReview
	err := a.db.View(ctx, func(tx *store.Tx) error {
		s, err := tx.PendingFaceReview(ctx, id)
		if err != nil {
			return err
		}
		rec, err := tx.Record(ctx, s.PersonID)
		if err != nil {
			return err
		}
		out = &FaceReview{ID: s.ID, Document: s.DocType.String() + ":" + s.DocNumber,
			Selfie: s.Selfie, Portrait: rec.Person.Portrait, CreatedAt: s.CreatedAt}
		return nil
	})
	return out, err
}

// ReviewFace records an officer's decision on a pending selfie. The selfie
// is deleted either way; the applicant learns the outcome from
// ProofingStatus.
func (a *Authority) ReviewFace(ctx context.Context, id int64, approve bool, note string) error {
	if err := permit.FreeTextError("face review", "note", note); err != nil {
		return err
	}
	return a.db.Update(ctx, func(tx *store.Tx) error {
		s, err := tx.ProofingSessionByID(ctx, id)
		if err != nil {
			return err
		}
		if s.State != store.ProofingFacePending || !tx.Now().Before(s.ExpiresAt) {
			return permit.Errorf(permit.ECodeWrongState, "proofing session %d is not waiting for a face review", id)
		}
		s.Selfie, s.FaceNote = nil, note
		action := "proofing.face_approved"
		if approve {
			s.State = store.ProofingVerified
		} else {
			s.State, action = store.ProofingFailed, "proofing.face_rejected"
		}
		if err := tx.UpdateProofingSession(ctx, s); err != nil {
			return err
		}
		return tx.Audit(ctx, event(ctx, action, s.DocType.String()+":"+s.DocNumber, map[string]any{"session": id}))
	})
}
