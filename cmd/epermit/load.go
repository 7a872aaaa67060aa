package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
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
latency and errors by kind, and each path's floor measured in the same run:
two bare P-256 verifications on all cores for verify, the trivial handler
for the status list.

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
// any request failed or the check failed.
func runLoad(ctx context.Context, out io.Writer, a load.Authority, f *loadFlags) (bool, error) {
	fx, err := load.Prepare(ctx, a, load.Setup{People: f.people, Presentations: f.presentations, ClientRate: f.clientRate})
	if err != nil {
		return false, err
	}
	fmt.Fprintf(out, "servers: %s; %d clients; each path %v", strings.Join(f.urls, ", "), f.clients, f.duration)
	if f.count > 0 {
		fmt.Fprintf(out, " or %d requests", f.count)
	}
	fmt.Fprintln(out)
	bare := load.BareVerifyRate(ctx, f.floorTime)
	fmt.Fprintf(out, "floor: two bare P-256 verifications on all cores: %.0f/s\n\n", bare)

	d := load.NewDriver(f.urls, f.clients)
	o := load.Options{Clients: f.clients, Duration: f.duration, Count: f.count}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "path\trequests\treq/s\tp50\tp95\tp99\tmax\tvs floor\tgoal\terrors\t")
	ok, trivial := true, 0.0
	var issuance load.Issuance
	for _, path := range loadPaths {
		if !slices.Contains(f.paths, path) {
			continue
		}
		var op load.Op
		var vs, goal string
		switch path {
		case "trivial":
			op = d.Trivial()
		case "status", "status304":
			etag := ""
			if path == "status304" {
				if etag, err = d.ETag(ctx, fx); err != nil {
					return false, err
				}
				goal = "≥ 0.5"
			}
			op = d.Status(fx, etag)
		case "verify":
			ps, err := fx.Presentations(f.presentations, time.Now())
			if err != nil {
				return false, err
			}
			op, goal = d.Verify(fx, ps), "≥ 0.7"
		case "linkage":
			op, goal = d.Linkage(fx), "p99 ≤ 10ms"
		case "issue":
			op, goal = d.Issue(fx, &issuance), "p99 ≤ 50ms"
		}
		r := load.Run(ctx, path, o, op)
		switch path {
		case "trivial":
			trivial = r.Throughput()
		case "status", "status304":
			if trivial > 0 {
				vs = fmt.Sprintf("%.2f × trivial", r.Throughput()/trivial)
			}
		case "verify":
			vs = fmt.Sprintf("%.2f × bare", r.Throughput()/bare)
		case "linkage":
			vs = fmt.Sprintf("p99 %.2f × 10ms", r.P99.Seconds()/0.010)
		case "issue":
			vs = fmt.Sprintf("p99 %.2f × 50ms", r.P99.Seconds()/0.050)
		}
		if vs == "" {
			vs = "-"
		}
		if goal == "" {
			goal = "-"
		}
		ok = ok && r.Failed == 0 && r.Requests > 0
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", path, r.Requests, r.Throughput(),
			ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), vs, goal, r.ErrorSummary())
	}
	tw.Flush()
	if slices.Contains(f.paths, "issue") {
		acked := issuance.Acknowledged()
		if err := load.Check(ctx, a, fx, acked); err != nil {
			fmt.Fprintln(out, "issuance check FAILED:", err)
			ok = false
		} else {
			fmt.Fprintf(out, "\nissuance check: %d acknowledged credentials, all in the store, no status entry twice\n", len(acked))
		}
	}
	return ok, nil
}

// ms is a latency in milliseconds, to the microsecond.
func ms(d time.Duration) string { return fmt.Sprintf("%.3fms", d.Seconds()*1000) }
