package public

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// statusList serves GET /s/{n}: status list n as a signed token (spec §5),
// CWT unless the client asks for the JWT form. Verifiers poll it every ttl,
// so it answers If-None-Match with 304 while the token is current, and says
// a max-age that ends when the authority signs the list again (verifiers
// age a list from its iat: a cache must not serve it longer).
func (s *Handler) statusList(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != r.PathValue("n") {
		httpx.WriteProblem(w, permit.ECodeNotFound, "no such status list")
		return
	}
	form, ok := negotiateStatusForm(r.Header.Values("Accept"))
	if !ok {
		httpx.WriteProblem(w, permit.ECodeNotAcceptable,
			"status lists are served as application/statuslist+cwt or application/statuslist+jwt")
		return
	}
	tok, err := s.a.StatusListToken(r.Context(), n, form)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", tok.ETag)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(tok.MaxAge/time.Second)))
	h.Set("Vary", "Accept")
	if etagMatches(r.Header.Values("If-None-Match"), tok.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", form.MediaType())
	h.Set("Content-Length", strconv.Itoa(len(tok.Token)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(tok.Token)
	}
}

// negotiateStatusForm picks a form from Accept headers (RFC 9110 §12.5.1):
// each form gets the q of the most specific range that matches it, the
// higher q wins, and CWT wins ties and an absent header. ok is false when
// neither form is acceptable.
func negotiateStatusForm(accept []string) (authority.StatusForm, bool) {
	if len(accept) == 0 {
		return authority.StatusCWT, true
	}
	forms := []authority.StatusForm{authority.StatusCWT, authority.StatusJWT}
	var q [2]float64
	var spec [2]int // specificity of the range that set q: 0 none, 1 */*, 2 type/*, 3 exact
	for _, header := range accept {
		for _, part := range strings.Split(header, ",") {
			params := strings.Split(part, ";")
			mt := strings.ToLower(strings.TrimSpace(params[0]))
			if mt == "" {
				continue
			}
			qv := 1.0
			for _, p := range params[1:] {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err != nil || f < 0 || f > 1 {
						f = 0 // a malformed weight accepts nothing rather than everything
					}
					qv = f
				}
			}
			for i, f := range forms {
				sp := 0
				switch {
				case mt == f.MediaType():
					sp = 3
				case mt == "application/*":
					sp = 2
				case mt == "*/*":
					sp = 1
				}
				if sp > spec[i] {
					spec[i], q[i] = sp, qv
				}
			}
		}
	}
	switch {
	case q[0] <= 0 && q[1] <= 0:
		return 0, false
	case q[1] > q[0]:
		return authority.StatusJWT, true
	}
	return authority.StatusCWT, true
}

// etagMatches applies If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(headers []string, etag string) bool {
	for _, h := range headers {
		for _, t := range strings.Split(h, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == "*" || t == etag {
				return true
			}
		}
	}
	return false
}
