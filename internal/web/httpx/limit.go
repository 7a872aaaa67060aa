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
}

// NewLimiter allows rate requests per second per key, in bursts of burst.
func NewLimiter(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: float64(burst), seen: map[string]*bucket{}}
}

// Allow takes a token from key's bucket if it has one.
func (l *Limiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	if now.Sub(l.swept) > full {
		for k, b := range l.seen {
			if now.Sub(b.last) > full {
				delete(l.seen, k)
			}
		}
		l.swept = now
	}
	b, ok := l.seen[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.seen[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
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
