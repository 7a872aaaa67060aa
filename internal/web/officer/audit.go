package officer

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// auditView is the audit page's data.
type auditView struct {
	Subject  string
	Before   int64 // the page holds the events before this one; 0 for the newest
	Events   []auditRow
	Older    int64  // where the next page starts, when there may be one
	Verified string // the verify result, when asked
	Broken   bool
}

type auditRow struct {
	Seq                                 int64
	At, Actor, Action, Subject, Details string
}

func (s *Handler) consoleAudit(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	v := auditView{Subject: strings.TrimSpace(r.PostFormValue("subject"))}
	if b := r.PostFormValue("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			s.site.Error(w, r, permit.Errorf(permit.ECodeInvalid, "before must be an event number"))
			return
		}
		v.Before = n
	}
	s.renderAudit(w, r, c, v)
}

func (s *Handler) renderAudit(w http.ResponseWriter, r *http.Request, c *consoleCtx, v auditView) {
	es, err := s.a.AuditEventsBefore(r.Context(), v.Subject, v.Before)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	v.Events = make([]auditRow, len(es))
	for i, e := range es {
		v.Events[i] = auditRow{Seq: e.Seq, At: s.stamp(e.At), Actor: e.Actor, Action: e.Action,
			Subject: e.Subject, Details: string(e.Details)}
	}
	if len(es) == authority.AuditPageSize && es[len(es)-1].Seq > 1 {
		v.Older = es[len(es)-1].Seq
	}
	s.render(w, r, http.StatusOK, "audit", c, consoleData{Data: v})
}

func (s *Handler) consoleVerifyAudit(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	n, err := s.a.VerifyAudit(r.Context())
	v := auditView{Verified: strconv.FormatInt(n, 10)}
	if err != nil {
		v.Broken, v.Verified = true, err.Error()
	}
	s.renderAudit(w, r, c, v)
}
