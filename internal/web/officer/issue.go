package officer

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http"
	"strings"

	"github.com/epermit/epermit/permit"
)

// issueView is the counter issuance page's data.
type issueView struct {
	Kind, DocType, Number, Reason, HolderKey string
	Issued                                   *issuedView
	Offer                                    *offerView
}

type issuedView struct {
	CTI, Kind, ExpiresAt, Credential string
}

func (s *Handler) consoleIssuePage(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	s.render(w, r, http.StatusOK, "issue", c, consoleData{Data: issueView{Kind: "epermit", DocType: "hk", Reason: "lost"}})
}

// parseHolderKey reads a P-256 public key in PEM (SubjectPublicKeyInfo),
// pasted into the form or uploaded as a file.
func parseHolderKey(r *http.Request) (*ecdsa.PublicKey, string, error) {
	text := r.PostFormValue("holder_key")
	if f, _, err := r.FormFile("holder_key_file"); err == nil {
		b, _ := io.ReadAll(io.LimitReader(f, maxConsoleForm))
		f.Close()
		if len(bytes.TrimSpace(b)) > 0 {
			text = string(b)
		}
	}
	bad := permit.Errorf(permit.ECodeInvalid, "the holder key must be a P-256 public key in PEM")
	blk, _ := pem.Decode([]byte(text))
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, text, bad
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	ek, ok := k.(*ecdsa.PublicKey)
	if err != nil || !ok {
		return nil, text, bad
	}
	return ek, text, nil
}

func (s *Handler) consoleIssue(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	v := issueView{Kind: r.PostFormValue("kind"), DocType: r.PostFormValue("doc_type"),
		Number: strings.ToUpper(strings.TrimSpace(r.PostFormValue("doc_number"))), Reason: r.PostFormValue("reason")}
	key, text, err := parseHolderKey(r)
	v.HolderKey = text
	var t permit.DocumentType
	if err == nil {
		t, err = permit.ParseDocumentType(v.DocType)
	}
	var cred *permit.Credential
	if err == nil {
		switch v.Kind {
		case "linkage":
			cred, err = s.a.IssueLinkageAtCounter(r.Context(), t, v.Number, key)
		default:
			var reason permit.Reason
			if reason, err = permit.ParseReason(v.Reason); err == nil {
				cred, err = s.a.IssueAtCounter(r.Context(), t, v.Number, reason, key)
			}
		}
	}
	if err != nil {
		status, msg := s.pageErr(r, err)
		s.render(w, r, status, "issue", c, consoleData{Error: msg, Data: v})
		return
	}
	iv := &issuedView{CTI: hex.EncodeToString(cred.ID), Kind: "epermit", ExpiresAt: s.stamp(cred.ExpiresAt),
		Credential: base64.RawURLEncoding.EncodeToString(cred.Token)}
	if cred.Kind == permit.LinkageProofKind {
		iv.Kind, iv.Credential = "linkage", string(cred.Token) // an SD-JWT is already text
	}
	v.Issued, v.HolderKey = iv, ""
	s.render(w, r, http.StatusOK, "issue", c, consoleData{Notice: "officer.issue.done", Data: v})
}
