package load

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 99, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 99, 4 * time.Millisecond},
		{ms(hundred...), 95, 95 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
		{ms(hundred...), 0, 1 * time.Millisecond},
	} {
		if got := Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("Percentile(%d values, %v) = %v; want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

func TestRunBounds(t *testing.T) {
	ctx := context.Background()
	// A count: exactly that many requests, failures counted by kind.
	r := Run(ctx, "count", Options{Clients: 4, Count: 100}, func(_ context.Context, _, i int) error {
		switch {
		case i%10 == 0:
			return Fail("429 rate_limited", nil)
		case i%25 == 1:
			return fmt.Errorf("dial: %w", errors.New("refused"))
		}
		return nil
	})
	if r.Requests != 100 || r.Failed != 14 || r.Errors["429 rate_limited"] != 10 || r.Errors["transport"] != 4 {
		t.Errorf("count run: %d requests, %d failed, %v", r.Requests, r.Failed, r.Errors)
	}
	if r.ErrorSummary() != "429 rate_limited ×10, transport ×4" {
		t.Errorf("summary %q", r.ErrorSummary())
	}

	// Inputs running out end the run; the request that found none is not
	// counted.
	r = Run(ctx, "done", Options{Clients: 3, Duration: time.Minute}, func(_ context.Context, _, i int) error {
		if i >= 50 {
			return ErrDone
		}
		return nil
	})
	if r.Requests != 50 || r.Failed != 0 || r.Elapsed > 30*time.Second {
		t.Errorf("done run: %d requests in %v", r.Requests, r.Elapsed)
	}

	// A duration: the run stops by itself and lets requests in flight end.
	var inFlight, finished atomic.Int64
	r = Run(ctx, "time", Options{Clients: 2, Duration: 100 * time.Millisecond}, func(context.Context, int, int) error {
		inFlight.Add(1)
		time.Sleep(5 * time.Millisecond)
		finished.Add(1)
		return nil
	})
	if r.Requests == 0 || int64(r.Requests) != finished.Load() || inFlight.Load() != finished.Load() || r.Elapsed > 10*time.Second {
		t.Errorf("timed run: %d requests, %d started, %d finished, %v", r.Requests, inFlight.Load(), finished.Load(), r.Elapsed)
	}
	if r.P50 < 5*time.Millisecond || r.P99 < r.P50 || r.Max < r.P99 {
		t.Errorf("latencies p50 %v p99 %v max %v", r.P50, r.P99, r.Max)
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{Fail("200 reject replayed", nil), "200 reject replayed"},
		{fmt.Errorf("wrapped: %w", Fail("503 not_ready", errors.New("x"))), "503 not_ready"},
		{context.DeadlineExceeded, "timeout"},
		{errors.New("connection reset by peer"), "transport"},
	} {
		if got := Kind(tc.err); got != tc.want {
			t.Errorf("Kind(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
