package httpx

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limiter is a token bucket per key (a client address, a client's id). Buckets idle long enough to
// be full again are dropped, so memory follows the number of active clients.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64
	mu    sync.Mutex
	seen  map[string]*bucket
	swept time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
	full   time.Duration // how long an empty bucket takes to fill
}

// NewLimiter allows rate requests per second per key, in bursts of burst.
func NewLimiter(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: float64(burst), seen: map[string]*bucket{}}
}

// Allow takes a token from key's bucket if it has one.
func (l *Limiter) Allow(key string, now time.Time) bool { return l.AllowRate(key, 0, now) }

// AllowRate is Allow for a key with a rate of its own (a client's, set by
// an operator); 0 means the limiter's. Its bursts last as many seconds as
// the limiter's do.
func (l *Limiter) AllowRate(key string, rate float64, now time.Time) bool {
	burst := l.burst
	if rate > 0 {
		burst = max(1, l.burst*rate/l.rate)
	} else {
		rate = l.rate
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Duration(l.burst/l.rate*float64(time.Second)) {
		for k, b := range l.seen {
			if now.Sub(b.last) > b.full {
				delete(l.seen, k)
			}
		}
		l.swept = now
	}
	b, ok := l.seen[key]
	if !ok {
		b = &bucket{tokens: burst, last: now}
		l.seen[key] = b
	}
	b.full = time.Duration(burst / rate * float64(time.Second))
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// ClientAddr is the client's IP address: when the server trusts its proxy,
// the right-most X-Forwarded-For entry, which that proxy appended (entries
// to its left come from the client, who can write anything there); else
// the peer address.
func ClientAddr(r *http.Request, trustProxy bool) string {
	if fwd := r.Header.Values("X-Forwarded-For"); trustProxy && len(fwd) > 0 {
		last := fwd[len(fwd)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
