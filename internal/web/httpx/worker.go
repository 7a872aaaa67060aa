package httpx

import (
	"io/fs"
	"net/http"
)

// workerCore is the static file with what every page's service worker
// shares: its install, activate and fetch handlers.
const workerCore = "js/sw-core.js"

// ServiceWorker serves the service worker of the page at scope: the
// static file name (which sets CACHE and FILES) followed by the shared
// core, as one script. The scope is above the worker's own directory
// (/static/js/), which the server allows with Service-Worker-Allowed;
// no-cache makes the browser ask for a new worker on every check, so a
// fixed one (page file or core) reaches phones without waiting an hour.
func (s *Site) ServiceWorker(static fs.FS, name, scope string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		for _, f := range []string{name, workerCore} {
			b, err := fs.ReadFile(static, f)
			if err != nil {
				s.Error(w, r, err)
				return
			}
			body = append(append(body, b...), '\n')
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Service-Worker-Allowed", scope)
		w.Write(body)
	}
}
