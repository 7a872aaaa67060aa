// Package web is epermit's HTTP server. It wires the rooms, one package per
// audience, onto one mux: applicant (apply and wallet pages, the
// applicant API), gate (the gate page and online verification), institution
// (the linkage check), officer (the console and the officer API), and
// public (trust list, status lists, static assets, probes), all over the
// shared helpers of httpx. Around every route it applies the cross-cutting
// concerns: security headers, the per-address rate limit, metrics and the
// access log. It holds no handler and no business rule.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/web/applicant"
	"github.com/epermit/epermit/internal/web/gate"
	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/internal/web/institution"
	"github.com/epermit/epermit/internal/web/officer"
	"github.com/epermit/epermit/internal/web/oid4vc"
	"github.com/epermit/epermit/internal/web/public"
	"github.com/epermit/epermit/permit"
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
	// RedirectLoopback sends a browser that reaches the server's pages
	// under another loopback name (localhost for 127.0.0.1, or back) to
	// the public URL, where the pages' Origin check accepts its POSTs.
	// For `epermit demo`, which serves on a loopback address.
	RedirectLoopback bool
	// ConsoleZone is the time zone the officer console shows times in;
	// China time when nil.
	ConsoleZone *time.Location
	// NonceRateLimit and NonceRateBurst limit POST /oid4vci/nonce per
	// client address, tighter than RateLimit: it needs no authentication
	// and each call writes. Zero means the defaults (1/s, 20: a wallet
	// needs one per credential; many may share an address behind NAT).
	NonceRateLimit float64
	NonceRateBurst int
}

// Server serves the authority over HTTP.
type Server struct {
	log     *slog.Logger
	mux     *http.ServeMux
	limiter *httpx.Limiter
	trust   bool
	metrics *metrics
	hsts    bool // the public URL is https
	site    *httpx.Site
	// public is the public URL, when page GETs on another loopback name
	// are redirected to it (Options.RedirectLoopback).
	public *url.URL
}

//go:embed static
var staticFS embed.FS

// New returns the authority's HTTP handler.
func New(a *authority.Authority, log *slog.Logger, opts Options) *Server {
	if opts.RateLimit == 0 {
		opts.RateLimit, opts.RateBurst = 20, 40
	}
	if opts.ClientRateLimit == 0 {
		opts.ClientRateLimit, opts.ClientRateBurst = 10, 20
	}
	if opts.NonceRateLimit == 0 {
		opts.NonceRateLimit, opts.NonceRateBurst = 1, 20
	}
	s := &Server{log: log, mux: http.NewServeMux(), trust: opts.TrustProxy,
		limiter: httpx.NewLimiter(opts.RateLimit, opts.RateBurst), metrics: newMetrics(),
		hsts: httpx.PublicHTTPS(a.Config().PublicURL)}
	if u, err := url.Parse(a.Config().PublicURL); opts.RedirectLoopback && err == nil && isLoopback(u.Hostname()) {
		s.public = u
	}
	static, _ := fs.Sub(staticFS, "static")
	s.site = &httpx.Site{Log: log, PublicURL: a.Config().PublicURL, TrustProxy: opts.TrustProxy,
		InsecureCookies: opts.InsecureCookies, Demo: opts.Outbox != nil, Static: static}
	site := s.site
	clients := &httpx.Clients{Site: site, Auth: a, Limit: httpx.NewLimiter(opts.ClientRateLimit, opts.ClientRateBurst)}

	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	public.New(site, a, static).Register(s.mux)
	applicant.New(site, a, a.Config().PublicURL, static, opts.Outbox).Register(s.mux)
	gate.New(site, clients, a, static, s.metrics.verifications).Register(s.mux)
	institution.New(site, clients, a).Register(s.mux)
	o := officer.New(site, clients, a)
	o.Zone = opts.ConsoleZone
	o.Register(s.mux)
	oid4vc.New(site, a, httpx.NewLimiter(opts.NonceRateLimit, opts.NonceRateBurst)).Register(s.mux)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if httpx.WantsPage(r) {
			site.ErrorPage(w, r, http.StatusNotFound)
			return
		}
		httpx.WriteProblem(w, permit.ECodeNotFound, "no such resource")
	})
	return s
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
	// The API's and the pages' calls answer with personal data or bearer
	// secrets (or may): no cache keeps them. A handler may say otherwise.
	if strings.HasPrefix(r.URL.Path, "/api/v1/") || strings.HasPrefix(r.URL.Path, "/app/") {
		h.Set("Cache-Control", "no-store")
	}

	if s.public != nil && r.Host != s.public.Host && httpx.WantsPage(r) {
		if host, port, err := net.SplitHostPort(r.Host); err == nil && isLoopback(host) && port == s.public.Port() {
			http.Redirect(rec, r, s.public.Scheme+"://"+s.public.Host+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
	}
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = "unmatched"
	}
	client := httpx.ClientAddr(r, s.trust)
	// Probes and scrapes are exempt so that an overloaded client cannot
	// make the service look dead to its orchestrator.
	if pattern != "GET /healthz" && pattern != "GET /readyz" && pattern != "GET /metrics" && !s.limiter.Allow(client, start) {
		rec.Header().Set("Retry-After", "1")
		httpx.WriteProblem(rec, permit.ECodeRateLimited, "too many requests; slow down and retry")
	} else {
		s.mux.ServeHTTP(rec, r)
	}
	elapsed := time.Since(start)
	s.metrics.requests.WithLabelValues(pattern, strconv.Itoa(rec.status)).Inc()
	s.metrics.duration.WithLabelValues(pattern).Observe(elapsed.Seconds())
	// The route pattern, not the path: paths may carry identifiers.
	s.log.Debug("http", "route", pattern, "status", rec.status, "duration", elapsed)
}

// hstsHeader is sent when the public URL is https: browsers then never
// try plain http for this host, so a network attacker cannot strip TLS.
const hstsHeader = "max-age=31536000"

// contentSecurityPolicy allows only the server's own scripts and styles,
// never inline ones. img-src adds blob: for the portrait a gate fetches and
// the photo an applicant picks; media-src adds the camera stream.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

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

// isLoopback reports whether host names this machine's loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
