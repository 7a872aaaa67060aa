// Package web is epermit's HTTP face: the JSON API, the trust list and
// status lists, health and metrics endpoints, and (later) the pages. It
// translates requests into authority calls and errors into RFC 9457
// problem+json; it holds no business rules.
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/notify"
)

// Options configure the server.
type Options struct {
	// RateLimit is the sustained requests per second allowed per client
	// address, with bursts of RateBurst. Zero means the defaults (20/s, 40).
	RateLimit float64
	RateBurst int
	// ClientRateLimit and ClientRateBurst limit each authenticated verifier
	// or institution. Zero means the defaults (10/s, 20).
	ClientRateLimit float64
	ClientRateBurst int
	// TrustProxy makes the client address come from X-Forwarded-For, for
	// deployments behind a load balancer that sets it.
	TrustProxy bool
	// Outbox, set only by `epermit demo`, is shown at /demo/outbox.
	Outbox *notify.Outbox
	// InsecureCookies drops the Secure attribute from the pages' cookies
	// on requests that arrive over plain http: only for tests and the local
	// demo. Behind TLS (or a trusted proxy saying https) cookies stay Secure.
	InsecureCookies bool
}

// Server serves the authority over HTTP.
type Server struct {
	a       *authority.Authority
	log     *slog.Logger
	mux     *http.ServeMux
	limiter *limiter
	clients *limiter // per relying party, after authentication
	trust   bool
	metrics *metrics
	outbox  *notify.Outbox
	// insecureCookies: see Options.InsecureCookies.
	insecureCookies bool
	hsts            bool // the public URL is https
}

// New returns the authority's HTTP handler.
func New(a *authority.Authority, log *slog.Logger, opts Options) *Server {
	if opts.RateLimit == 0 {
		opts.RateLimit, opts.RateBurst = 20, 40
	}
	if opts.ClientRateLimit == 0 {
		opts.ClientRateLimit, opts.ClientRateBurst = 10, 20
	}
	s := &Server{a: a, log: log, mux: http.NewServeMux(), trust: opts.TrustProxy,
		limiter: newLimiter(opts.RateLimit, opts.RateBurst), clients: newLimiter(opts.ClientRateLimit, opts.ClientRateBurst), metrics: newMetrics(), outbox: opts.Outbox,
		insecureCookies: opts.InsecureCookies, hsts: publicHTTPS(a.Config().PublicURL)}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /.well-known/jwks.json", s.jwks)
	s.mux.HandleFunc("GET /s/{n}", s.statusList)
	s.apiRoutes()
	s.pageRoutes()
	s.consoleRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, r, http.StatusNotFound, "not_found", "no such resource")
	})
}

// ServeHTTP applies the cross-cutting concerns (security headers, rate
// limit, metrics, access log) and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	h := rec.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	if s.hsts {
		h.Set("Strict-Transport-Security", hstsHeader)
	}

	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = "unmatched"
	}
	client := clientAddr(r, s.trust)
	// Probes and scrapes are exempt so that an overloaded client cannot
	// make the service look dead to its orchestrator.
	if pattern != "GET /healthz" && pattern != "GET /readyz" && pattern != "GET /metrics" && !s.limiter.allow(client, start) {
		rec.Header().Set("Retry-After", "1")
		s.problem(rec, r, http.StatusTooManyRequests, "rate_limited", "too many requests; slow down and retry")
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	elapsed := time.Since(start)
	s.metrics.requests.WithLabelValues(pattern, strconv.Itoa(rec.status)).Inc()
	s.metrics.duration.WithLabelValues(pattern).Observe(elapsed.Seconds())
	// The route pattern, not the path: paths may carry identifiers.
	s.log.Debug("http", "route", pattern, "status", rec.status, "duration", elapsed)
}

// contentSecurityPolicy allows only the server's own scripts and styles,
// never inline ones. img-src adds blob: for the portrait a gate fetches and
// the photo an applicant picks; media-src adds the camera stream.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.a.Ready(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		s.problem(w, r, http.StatusServiceUnavailable, "not_ready", "the store is unreachable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := s.a.TrustList(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/jwk-set+json")
	json.NewEncoder(w).Encode(set)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

type metrics struct {
	reg           *prometheus.Registry
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	verifications *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epermit_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "epermit_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epermit_online_verifications_total", Help: "Online verifications by decision and failure code.",
		}, []string{"decision", "code"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.verifications, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
