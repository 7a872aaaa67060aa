package officer

import (
	"net/http"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/permit"
)

// A counter offer to the holder's own wallet (OpenID4VCI): the console
// shows the offer as a QR for the holder to scan; the transaction code
// goes to the phone on record, so that only the person whose phone it is
// can redeem it, and the credential is bound to their wallet's own key.

type offerView struct {
	Kind, URI, Code, ExpiresAt, Phone string
}

func (s *Handler) consoleOffer(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	v := issueView{Kind: r.PostFormValue("kind"), DocType: r.PostFormValue("doc_type"),
		Number: strings.ToUpper(strings.TrimSpace(r.PostFormValue("doc_number"))), Reason: r.PostFormValue("reason")}
	req := authority.OfferRequest{Kind: permit.TemporaryEPermit, DocumentNumber: v.Number}
	t, err := permit.ParseDocumentType(v.DocType)
	req.DocumentType = t
	if err == nil {
		if v.Kind == "linkage" {
			req.Kind = permit.LinkageProofKind
		} else {
			req.Reason, err = permit.ParseReason(v.Reason)
		}
	}
	var o *authority.Offer
	if err == nil {
		o, err = s.a.OfferAtCounter(r.Context(), req)
	}
	if err != nil {
		status, msg := s.pageErr(r, err)
		s.render(w, r, status, "issue", c, consoleData{Error: msg, Data: v})
		return
	}
	kind := "epermit"
	if req.Kind == permit.LinkageProofKind {
		kind = "linkage"
	}
	v.Offer = &offerView{Kind: kind, URI: o.ByReference(), Code: o.Code, ExpiresAt: o.ExpiresAt.Format(time.DateTime), Phone: o.PhoneHint}
	s.render(w, r, http.StatusOK, "issue", c, consoleData{Notice: "officer.offer.done", Data: v})
}

// consoleOfferQR draws an unredeemed offer's QR for the console.
func (s *Handler) consoleOfferQR(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	o, err := s.a.OfferByCode(r.Context(), r.PathValue("code"))
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	png, err := qrcode.RenderText(o.ByReference())
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}
