package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web"
)

type serveFlags struct {
	addr        string
	noMigrate   bool
	trustProxy  bool
	rateLimit   float64 // per client address
	rateBurst   int
	cpuProfile  string
	consoleZone string
	// ln, if set, is the listener to serve on (the demo listens first, to
	// know its public URL).
	ln net.Listener
}

func (f *serveFlags) register(cmd *cobra.Command, defaultAddr string) {
	cmd.Flags().StringVar(&f.addr, "addr", defaultAddr, "address to listen on")
	cmd.Flags().BoolVar(&f.trustProxy, "trust-proxy", false, "take client addresses from X-Forwarded-For (behind a load balancer)")
	cmd.Flags().StringVar(&f.consoleZone, "console-zone", "Asia/Shanghai", "time zone of the times the officer console shows (an IANA name)")
	cmd.Flags().Float64Var(&f.rateLimit, "rate-limit", 20, "requests per second allowed per client address")
	cmd.Flags().IntVar(&f.rateBurst, "rate-burst", 0, "burst allowed per client address (default twice --rate-limit)")
	cmd.Flags().StringVar(&f.cpuProfile, "cpu-profile", "", "write a CPU profile of the whole run to this file (for docs/performance.md)")
}

func (f *serveFlags) burst() int {
	if f.rateBurst > 0 {
		return f.rateBurst
	}
	return max(1, int(2*f.rateLimit))
}

func serveCmd(g *globals) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the authority's HTTP server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Do not leave an empty database behind a mistyped --data.
			if !strings.HasPrefix(g.db, "postgres") {
				if _, err := os.Stat(g.db); errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("no store at %s: set one up with `epermit init` first (docs/config.md)", redactDSN(g.db))
				}
			}
			a, closeStore, err := g.authority(cmd.Context(), !f.noMigrate)
			if err != nil {
				return err
			}
			defer closeStore()
			if !g.settings.Initialised {
				return fmt.Errorf("the store at %s was never set up: run `epermit init` first (docs/config.md)", redactDSN(g.db))
			}
			return serve(cmd.Context(), g, a, &f, nil)
		},
	}
	f.register(cmd, ":8080")
	usesFlags(cmd, "store,log,issuing,server")
	cmd.Flags().BoolVar(&f.noMigrate, "no-migrate", false, "do not migrate the database on start (run epermit migrate instead)")
	return cmd
}

// serve runs the HTTP server until SIGINT or SIGTERM, then drains open
// requests for up to 15 seconds. ready, if set, is called once listening.
func serve(ctx context.Context, g *globals, a *authority.Authority, f *serveFlags, ready func(addr string)) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !(f.rateLimit > 0) {
		return usageError{fmt.Errorf("--rate-limit must be above 0")}
	}
	var zone *time.Location // nil: China time, which needs no zone database
	if f.consoleZone != "" && f.consoleZone != "Asia/Shanghai" {
		var err error
		if zone, err = time.LoadLocation(f.consoleZone); err != nil {
			return usageError{fmt.Errorf("--console-zone: %w", err)}
		}
	}
	ln := f.ln
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", f.addr); err != nil {
			return err
		}
	}
	if f.cpuProfile != "" {
		prof, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer prof.Close()
		if err := pprof.StartCPUProfile(prof); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	srv := &http.Server{
		Handler: web.New(a, g.log, web.Options{RateLimit: f.rateLimit, RateBurst: f.burst(), TrustProxy: f.trustProxy, Outbox: g.outbox,
			InsecureCookies: g.demo, ConsoleZone: zone, RedirectLoopback: g.demo}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	// The log records each change of the issuance policy, with its hash.
	changed, err := a.RecordPolicy(authority.WithActor(ctx, "system"))
	if err != nil {
		ln.Close()
		return err
	}
	p := a.Policy()
	g.log.Info("issuance policy", "hash", a.PolicyHash(), "changed", changed,
		"allow_border", p.AllowBorder, "allow_electronic_permit", p.AllowElectronicPermit)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Expired offers, c_nonces and presentation requests; every replica
	// purges, which is harmless.
	go a.RunPurges(authority.WithActor(ctx, "system"), authority.PurgeInterval)
	g.log.Info("serving", "addr", ln.Addr().String(), "public_url", g.publicURL)
	// The demo's names are short; a deployment's may not be.
	if n, level := a.QRRoom(), slog.LevelWarn; n < 24 {
		if g.demo {
			level = slog.LevelInfo
		}
		g.log.Log(ctx, level, "gate QR codes hold latin names of this many characters only (spec §3: 620 characters); longer ones make larger QRs: give status lists a shorter URL",
			"latin_name_max", n, "status_url", a.Config().StatusURL)
	}
	// Under a root of trust: what ends soon, so that no list runs out on
	// the gates unnoticed.
	if ws, err := a.TrustWarnings(ctx); err != nil {
		g.log.Warn("root of trust", "err", err)
	} else {
		for _, w := range ws {
			g.log.Warn(w)
		}
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	g.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
