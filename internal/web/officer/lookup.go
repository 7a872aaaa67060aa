package officer

import (
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// lookupView is the lookup page's data.
type lookupView struct {
	DocType, Number string
	File            *authority.PersonFile
	Portrait        string // sealed handle, "" without a portrait
	Credentials     []credentialView
}

// credentialView is one credential as the console lists it.
type credentialView struct {
	CTI, Kind, State, Reason string
	IssuedAt, ExpiresAt      string
	Expired                  bool
	// Confirm is the action (revoke, suspend) the officer is asked to
	// confirm, with Reason, before it is done.
	Confirm string
}

func (s *Handler) viewCredential(c *permit.Credential, now time.Time) credentialView {
	kind := "epermit"
	switch c.Kind {
	case permit.LinkageProofKind:
		kind = "linkage"
	case permit.ElectronicPermit:
		kind = "electronic"
	}
	return credentialView{CTI: hex.EncodeToString(c.ID), Kind: kind, State: string(c.State), Reason: c.StateReason,
		IssuedAt: s.stamp(c.IssuedAt), ExpiresAt: s.stamp(c.ExpiresAt),
		Expired: !now.Before(c.ExpiresAt)}
}

func (s *Handler) consoleLookupPage(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	s.render(w, r, http.StatusOK, "lookup", c, consoleData{Data: lookupView{DocType: "hk"}})
}

func (s *Handler) consoleLookup(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	v := lookupView{DocType: r.PostFormValue("doc_type"), Number: strings.TrimSpace(r.PostFormValue("doc_number"))}
	t, err := permit.ParseDocumentType(v.DocType)
	var f *authority.PersonFile
	if err == nil {
		f, err = s.a.LookUpPerson(r.Context(), t, v.Number)
	}
	if err != nil {
		status, msg := s.pageErr(r, err)
		s.render(w, r, status, "lookup", c, consoleData{Error: msg, Data: v})
		return
	}
	v.File = f
	if len(f.Record.Person.Portrait) > 0 {
		v.Portrait = sealHandle(f.Record.Person.ID, c.session)
	}
	now := time.Now()
	for _, list := range [][]permit.Credential{f.EPermits, f.LinkageProof} {
		for i := range list {
			v.Credentials = append(v.Credentials, s.viewCredential(&list[i], now))
		}
	}
	s.render(w, r, http.StatusOK, "lookup", c, consoleData{Data: v})
}
