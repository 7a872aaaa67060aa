package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/load"
)

// loadPaths are the paths `epermit load` can drive, in the order it runs them.
var loadPaths = []string{"trivial", "status", "status304", "verify", "linkage", "issue"}

type loadFlags struct {
	urls          []string
	clients       int
	duration      time.Duration
	count         int
	paths         []string
	people        int
	presentations int
	clientRate    float64
	floorTime     time.Duration
}

func loadCmd(g *globals) *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load --url URL [--url URL2 …]",
		Short: "Drive running servers with concurrent clients and report throughput, latency and errors",
		Long: `load measures the online paths of running epermit servers (one, or several
replicas sharing one database) under concurrent clients: GET /healthz (the
trivial floor), GET /s/{n} without and with If-None-Match, POST
/api/v1/verify, POST /api/v1/linkage/check and counter issuance over POST
/api/v1/credentials. Each path runs for --duration or --count requests,
whichever ends first; load prints requests per second, p50/p95/p99/max
latency and errors by kind, and each path's floor measured in the same run,
just before and just after it: two bare P-256 verifications on all cores
for verify, the trivial handler for the status list.

It opens the servers' database (--db, --data) to prepare the run: it needs
an EMPTY database, seeds a fictional registry, registers a verifier, an
institution and an officer with their rate limits raised (set-rate), and
afterwards checks that every credential a server acknowledged is in the
store and no status entry was given twice. Start the servers with
--rate-limit high enough for all clients from one address. It exits 1 if
any request failed or the check did not hold. See docs/performance.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			a, closeStore, err := g.authority(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeStore()
			ok, err := runLoad(cmd.Context(), cmd.OutOrStdout(), a, &f)
			if err != nil {
				return err
			}
			if !ok {
				return exitError{exitFailure}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.urls, "url", []string{"http://127.0.0.1:8080"}, "base URL of a server; repeat for replicas (clients spread over them)")
	fl.IntVar(&f.clients, "clients", 32, "concurrent clients, each sending one request at a time")
	fl.DurationVar(&f.duration, "duration", 10*time.Second, "how long each path runs (at most 20s: presentations must stay fresh)")
	fl.IntVar(&f.count, "count", 0, "stop each path after this many requests (0: only --duration)")
	fl.StringSliceVar(&f.paths, "paths", loadPaths, "paths to drive: "+strings.Join(loadPaths, ","))
	fl.IntVar(&f.people, "people", 20000, "fictional people to seed; each issuance takes one")
	fl.IntVar(&f.presentations, "presentations", 40000, "distinct presentations to make for verify")
	fl.Float64Var(&f.clientRate, "client-rate", 1e6, "rate limit (requests/s) given to the run's verifier, institution and officer")
	fl.DurationVar(&f.floorTime, "floor-time", 3*time.Second, "how long the bare crypto floor is measured")
	return cmd
}

func (f *loadFlags) check() error {
	for _, u := range f.urls {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return usageError{fmt.Errorf("--url %q: want http(s)://host:port", u)}
		}
	}
	for _, p := range f.paths {
		if !slices.Contains(loadPaths, p) {
			return usageError{fmt.Errorf("--paths: unknown path %q (known: %s)", p, strings.Join(loadPaths, ","))}
		}
	}
	switch {
	case f.clients < 1 || f.clients > 10000:
		return usageError{fmt.Errorf("--clients must be 1 to 10000")}
	case f.duration <= 0 || f.duration > 20*time.Second:
		return usageError{fmt.Errorf("--duration must be above 0 and at most 20s")}
	case f.count < 0 || f.people < 100 || f.presentations < 1 || !(f.clientRate > 0) || f.floorTime <= 0:
		return usageError{fmt.Errorf("--count, --people (≥ 100), --presentations, --client-rate and --floor-time must be positive")}
	}
	return nil
}

// runLoad prepares, drives each path and checks issuance; ok is false if
// any request failed or the check failed. Floors alternate with what they
// are the floor of, so that a machine whose load changes during the run
// shifts both alike: the trivial handler runs before and after each status
// path, the bare crypto before and after verify, and each ratio is to the
// mean of the two.
func runLoad(ctx context.Context, out io.Writer, a load.Authority, f *loadFlags) (bool, error) {
	fx, err := load.Prepare(ctx, a, load.Setup{People: f.people, Presentations: f.presentations, ClientRate: f.clientRate})
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "servers: %s; %d clients; each path %v", strings.Join(f.urls, ", "), f.clients, f.duration)
	if f.count > 0 {
		fmt.Fprintf(out, " or %d requests", f.count)
	}
	fmt.Fprintf(out, "\n\n")

	d := load.NewDriver(f.urls, f.clients)
	o := load.Options{Clients: f.clients, Duration: f.duration, Count: f.count}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\trequests\treq/s\tp50\tp95\tp99\tmax\tvs floor\tgoal\terrors\t")
	ok := true
	row := func(r *load.Report, vs, goal string) {
		ok = ok && r.Failed == 0 && r.Requests > 0
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Path, r.Requests, r.Throughput(),
			ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), vs, goal, r.ErrorSummary())
	}
	want := func(p string) bool { return slices.Contains(f.paths, p) }

	if want("trivial") || want("status") || want("status304") {
		before := load.Run(ctx, "trivial", o, d.Trivial())
		row(before, "-", "-")
		for _, path := range []string{"status", "status304"} {
			if !want(path) {
				continue
			}
			var etags []string
			goal := "-"
			if path == "status304" {
				if etags, err = d.ETags(ctx, fx); err != nil {
					return false, err
				}
				goal = "≥ 0.5"
			}
			r := load.Run(ctx, path, o, d.Status(fx, etags))
			after := load.Run(ctx, "trivial", o, d.Trivial())
			row(r, fmt.Sprintf("%.2f × trivial", r.Throughput()/((before.Throughput()+after.Throughput())/2)), goal)
			row(after, "-", "-")
			before = after
		}
	}
	var bare [2]float64
	if want("verify") {
		ps, err := fx.Presentations(f.presentations, time.Now())
		if err != nil {
			return false, err
		}
		bare[0] = load.BareVerifyRate(ctx, f.floorTime)
		r := load.Run(ctx, "verify", o, d.Verify(fx, ps))
		bare[1] = load.BareVerifyRate(ctx, f.floorTime)
		row(r, fmt.Sprintf("%.2f × bare", r.Throughput()/((bare[0]+bare[1])/2)), "≥ 0.7")
	}
	if want("linkage") {
		r := load.Run(ctx, "linkage", o, d.Linkage(fx))
		row(r, fmt.Sprintf("p99 %.2f × 10ms", r.P99.Seconds()/0.010), "p99 ≤ 10ms")
	}
	var issuance load.Issuance
	if want("issue") {
		r := load.Run(ctx, "issue", o, d.Issue(fx, &issuance))
		row(r, fmt.Sprintf("p99 %.2f × 50ms", r.P99.Seconds()/0.050), "p99 ≤ 50ms")
	}
	tw.Flush()
	if want("verify") {
		fmt.Fprintf(out, "\nbare: two P-256 verifications on all %d cores: %.0f/s before verify, %.0f/s after\n",
			runtime.GOMAXPROCS(0), bare[0], bare[1])
	}
	if want("issue") {
		acked := issuance.Acknowledged()
		if err := load.Check(ctx, a, fx, acked); err != nil {
			fmt.Fprintln(out, "issuance check FAILED:", err)
			ok = false
		} else {
			fmt.Fprintf(out, "issuance check: %d acknowledged credentials, all in the store, no status entry twice\n", len(acked))
		}
	}
	return ok, nil
}

// ms is a latency in milliseconds, to the microsecond.
func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", d.Seconds()*1000) }
