// Package load drives a running epermit server over HTTP with many
// concurrent clients and measures what an operator sizes a deployment by:
// requests per second and tail latency of the online paths (online
// verification, status lists, the linkage check, counter issuance), each
// beside a floor measured in the same run on the same machine. It backs
// `epermit load`; docs/performance.md has the figures and how to read them.
//
// A run is bounded by a duration, a count or the prepared inputs running
// out, whichever comes first, so it always stops by itself.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Op sends request i from client worker and checks the answer. It returns
// nil for an answer as expected, ErrDone when its inputs ran out (the run
// ends, the request is not counted), or an error whose Kind names it.
type Op func(ctx context.Context, worker, i int) error

// ErrDone ends a run when an Op's prepared inputs are used up.
var ErrDone = errors.New("load: inputs used up")

// Options bound a run.
type Options struct {
	Clients  int           // concurrent clients, each sending one request at a time
	Duration time.Duration // stop sending after this long; 0: no time bound
	Count    int           // stop after this many requests in all; 0: no count bound
}

// Report is what one run of one path measured.
type Report struct {
	Path     string
	Clients  int
	Requests int            // answered, as expected or not
	Failed   int            // of Requests, not as expected
	Errors   map[string]int // failures by kind
	Elapsed  time.Duration
	P50, P95 time.Duration // latency of every request, failed or not
	P99, Max time.Duration
}

// Throughput is requests per second over the run.
func (r *Report) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// ErrorSummary lists the failures by kind, most frequent first, or "-".
func (r *Report) ErrorSummary() string {
	if len(r.Errors) == 0 {
		return "-"
	}
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if r.Errors[kinds[i]] != r.Errors[kinds[j]] {
			return r.Errors[kinds[i]] > r.Errors[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s ×%d", k, r.Errors[k])
	}
	return strings.Join(parts, ", ")
}

// Run sends op's requests from o.Clients concurrent clients until o's
// bounds or op's inputs end, or ctx is done, and reports them.
func Run(ctx context.Context, path string, o Options, op Op) *Report {
	clients := max(1, o.Clients)
	// Requests in flight when the run ends are let finish, so that every
	// answer the server gave is counted (and an issuance it acknowledged is
	// checked); only ctx cuts them off.
	var stop atomic.Bool
	if o.Duration > 0 {
		t := time.AfterFunc(o.Duration, func() { stop.Store(true) })
		defer t.Stop()
	}
	var next atomic.Int64
	type result struct {
		lat  []time.Duration
		errs map[string]int
	}
	results := make([]result, clients)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Go(func() {
			res := &results[w]
			res.errs = map[string]int{}
			for !stop.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if o.Count > 0 && i >= o.Count {
					return
				}
				t0 := time.Now()
				err := op(ctx, w, i)
				d := time.Since(t0)
				switch {
				case errors.Is(err, ErrDone):
					stop.Store(true)
					return
				case err != nil && ctx.Err() != nil:
					return // cut off: not an answer
				case err != nil:
					res.errs[Kind(err)]++
				}
				res.lat = append(res.lat, d)
			}
		})
	}
	wg.Wait()
	r := &Report{Path: path, Clients: clients, Elapsed: time.Since(start), Errors: map[string]int{}}
	var all []time.Duration
	for _, res := range results {
		all = append(all, res.lat...)
		for k, n := range res.errs {
			r.Errors[k] += n
			r.Failed += n
		}
	}
	r.Requests = len(all)
	slices.Sort(all)
	r.P50, r.P95, r.P99 = Percentile(all, 50), Percentile(all, 95), Percentile(all, 99)
	if len(all) > 0 {
		r.Max = all[len(all)-1]
	}
	return r
}

// Percentile is the nearest-rank p-th percentile of sorted latencies, or 0
// for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Failure is an answer not as expected, of a kind that groups it with
// others: "429 rate_limited", "200 reject:replayed", "transport".
type Failure struct {
	kind string
	err  error
}

func (f *Failure) Error() string {
	if f.err != nil {
		return f.kind + ": " + f.err.Error()
	}
	return f.kind
}

func (f *Failure) Unwrap() error { return f.err }

// Fail makes a failure of kind, wrapping err (which may be nil).
func Fail(kind string, err error) error { return &Failure{kind: kind, err: err} }

// Kind names err's kind for the error counts: a Failure's kind, else
// "timeout" or "transport" (the connection failed, no answer).
func Kind(err error) string {
	var f *Failure
	switch {
	case errors.As(err, &f):
		return f.kind
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "transport: connection closed"
	}
	return "transport"
}
