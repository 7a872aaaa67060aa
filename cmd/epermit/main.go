// Command epermit runs the e-permit authority and its tools: the server
// (serve, demo), the database (migrate), the registry, issuer keys and the
// audit log. It only wires packages together; the rules live in package
// permit and the use cases in internal/authority.
//
// Every flag can also be set through an EPERMIT_* environment variable named
// after it (--public-url is EPERMIT_PUBLIC_URL); a flag on the command line
// wins. See docs/config.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/face"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// Exit codes shared by every subcommand.
const (
	exitFailure = 1 // the command ran and failed (or, for verify, rejected)
	exitUsage   = 2 // the command line was wrong
)

// globals are the flags every subcommand takes.
type globals struct {
	data      string
	db        string
	issuerID  string
	publicURL string
	statusURL string
	logFormat string
	logLevel  string
	officer   string
	policy    string
	log       *slog.Logger

	faceMode, faceURL, faceToken string
	smsURL, smsToken             string

	statusTTL, statusValidity time.Duration

	// mayCreate lets the command create the store: only init, demo and
	// migrate may, so that a mistyped --data or --db is an error, not a
	// new empty database.
	mayCreate bool
	// kms is where new issuer keys are made, set by the commands that make
	// them (--kms); empty means the store's setting, or file keys.
	kms string
	// recordSettings makes the authority record the URL and issuer flags in
	// the store instead of refusing ones that differ (`epermit settings set`).
	recordSettings bool
	// flags are the command's flags, to tell given values from defaults.
	flags *pflag.FlagSet
	// settings are what the store recorded, read by authority.
	settings authority.Settings

	// Set by `epermit demo` before the authority is built.
	demo   bool
	outbox *notify.Outbox
}

func main() {
	g := &globals{}
	root := newRoot(g)
	err := root.Execute()
	code := exitCodeOf(err)
	var ee exitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "epermit:", err)
	}
	os.Exit(code)
}

// exitCodeOf is the exit code for a command's error.
func exitCodeOf(err error) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, new(usageError)) || cobraUsage(err):
		return exitUsage
	}
	return exitFailure
}

// cobraUsage recognizes the command-line errors cobra makes itself (flags
// marked with MarkFlagRequired, wrong argument counts, unknown commands and
// flags), which it does not type.
func cobraUsage(err error) bool {
	for _, p := range []string{"required flag(s) ", "accepts ", "unknown command ", "unknown flag", "unknown shorthand flag"} {
		if strings.HasPrefix(err.Error(), p) {
			return true
		}
	}
	return false
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "epermit",
		Short:         "Temporary electronic travel permits and permit linkage proofs",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			if err := checkRequired(cmd); err != nil {
				return err
			}
			actor, err := officerActor(cmd, g.officer)
			if err != nil {
				return err
			}
			if actor != "" {
				cmd.SetContext(authority.WithActor(cmd.Context(), actor))
			}
			g.flags = cmd.Flags()
			return g.setup(cmd.ErrOrStderr())
		},
	}
	f := root.PersistentFlags()
	f.StringVar(&g.data, "data", "epermit-data", "data directory: the SQLite database and key files")
	f.StringVar(&g.db, "db", "", "database: a SQLite file path or a postgres:// URL (default DATA/epermit.db)")
	f.StringVar(&g.issuerID, "issuer-id", "CN-NIA", "issuer id written into credentials")
	f.StringVar(&g.publicURL, "public-url", "http://127.0.0.1:8080", "base URL the authority is reached at")
	f.StringVar(&g.statusURL, "status-url", "", "base URL of status list URIs in credentials, e.g. a short host name (default --public-url)")
	f.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&g.faceMode, "face-mode", "officer", "real-person check: http (a face provider) or officer (review queue)")
	f.StringVar(&g.faceURL, "face-url", "", "face provider URL, with --face-mode http")
	f.StringVar(&g.faceToken, "face-token", "", "face provider bearer token (prefer EPERMIT_FACE_TOKEN)")
	f.StringVar(&g.smsURL, "sms-url", "", "SMS gateway URL for one-time codes")
	f.StringVar(&g.smsToken, "sms-token", "", "SMS gateway bearer token (prefer EPERMIT_SMS_TOKEN)")
	f.DurationVar(&g.statusTTL, "status-ttl", authority.DefaultStatusTTL, "ttl of published status lists (each is signed again every half of it)")
	f.DurationVar(&g.statusValidity, "status-validity", authority.DefaultStatusValidity, "exp − iat of published status lists (at most 24h)")
	f.StringVar(&g.policy, "policy", "", "issuance policy file (docs/policy.md); default today's rules")
	f.StringVar(&g.officer, "officer", "", "the officer running a command that changes state, named in the audit log (required for those, except in the demo)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{err} })
	root.Version = version()
	root.SetVersionTemplate("epermit {{.Version}}\n")
	root.AddCommand(initCmd(g), settingsCmd(g), serveCmd(g), demoCmd(g), migrateCmd(g), registryCmd(g), keysCmd(g), auditCmd(g),
		issueCmd(g), faceCmd(g), presentCmd(g), verifyCmd(), verifierCmd(g), institutionCmd(g), officerCmd(g), linkageCmd(g),
		revokeCmd(g), suspendCmd(g), reinstateCmd(g), offerCmd(g), loadCmd(g), rootCmd(), trustListCmd(g), versionCmd())
	refuseUnknown(root)
	root.SetUsageFunc(usage)
	return root
}

// flagGroups are the root's flags by what uses them; a command's help
// shows its own flags and only the groups it uses (annotation "flags",
// "store,log" unless set), not every server setting.
var flagGroups = map[string][]string{
	"store":   {"data", "db"},
	"log":     {"log-format", "log-level"},
	"officer": {"officer"},
	"issuing": {"issuer-id", "public-url", "status-url", "policy"},
	"server":  {"face-mode", "face-url", "face-token", "sms-url", "sms-token", "status-ttl", "status-validity"},
}

// usesFlags sets the flag groups a command's help shows.
func usesFlags(cmd *cobra.Command, groups string) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations["flags"] = groups
	return cmd
}

// usage prints a command's usage: its subcommands, its own flags, and the
// root's flags it uses.
func usage(cmd *cobra.Command) error {
	w := cmd.OutOrStderr()
	fmt.Fprintf(w, "Usage:\n  %s\n", cmd.UseLine())
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(w, "  %s [command]\n\nCommands:\n", cmd.CommandPath())
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				fmt.Fprintf(w, "  %-12s %s\n", c.Name(), c.Short)
			}
		}
	}
	if cmd.HasAvailableLocalFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", cmd.LocalNonPersistentFlags().FlagUsages())
		if !cmd.HasParent() {
			fmt.Fprintf(w, "%s", cmd.PersistentFlags().FlagUsages())
		}
	}
	if cmd.HasParent() {
		groups := cmd.Annotations["flags"]
		if groups == "" {
			groups = "store,log"
			if cmd.Annotations["changes-state"] != "" {
				groups += ",officer"
			}
		}
		shown := pflag.NewFlagSet("shown", pflag.ContinueOnError)
		for _, g := range strings.Split(groups, ",") {
			for _, name := range flagGroups[g] {
				if f := cmd.InheritedFlags().Lookup(name); f != nil {
					shown.AddFlag(f)
				}
			}
		}
		if shown.HasFlags() {
			fmt.Fprintf(w, "\nCommon flags (every flag also as EPERMIT_NAME; see docs/config.md):\n%s", shown.FlagUsages())
		}
	}
	return nil
}

// refuseUnknown makes every command that only groups others (keys, audit,
// …) a usage error when run with an unknown subcommand or none, instead
// of printing its help and exiting 0.
func refuseUnknown(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknown(c)
	}
	if cmd.Runnable() || !cmd.HasSubCommands() || !cmd.HasParent() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError{fmt.Errorf("unknown command %q for %q; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())}
		}
		return usageError{fmt.Errorf("%s needs a subcommand; see %s --help", cmd.CommandPath(), cmd.CommandPath())}
	}
}

// version is the module version and VCS revision the binary was built
// from, as the Go toolchain recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if rev != "" {
		v += " " + rev + modified
	}
	return v + " " + bi.GoVersion
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the module version and VCS revision of this binary", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "epermit %s\n", version())
			return nil
		},
	}
}

// bindEnv sets each flag not given on the command line from EPERMIT_<NAME>.
func bindEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		name := "EPERMIT_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && !f.Changed && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = usageError{fmt.Errorf("%s: %w", name, e)}
			}
		}
	})
	return err
}

func (g *globals) setup(w io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level: %w", err)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch g.logFormat {
	case "text":
		g.log = slog.New(slog.NewTextHandler(w, opts))
	case "json":
		g.log = slog.New(slog.NewJSONHandler(w, opts))
	default:
		return usageError{fmt.Errorf("--log-format must be text or json, not %q", g.logFormat)}
	}
	if g.db == "" {
		g.db = filepath.Join(g.data, "epermit.db")
	}
	return nil
}

// openStore opens the database and, unless told not to, migrates it. A
// store that does not exist (no SQLite file, or a database without the
// schema) is refused unless the command may create one (mayCreate).
func (g *globals) openStore(ctx context.Context, migrate bool) (*store.DB, error) {
	sqlite := !strings.HasPrefix(g.db, "postgres://") && !strings.HasPrefix(g.db, "postgresql://")
	if sqlite && !g.mayCreate {
		if _, err := os.Stat(g.db); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no store at %s: check --data and --db, or create one with `epermit migrate`", g.db)
		}
	}
	db, err := store.Open(ctx, g.db)
	if err != nil {
		return nil, err
	}
	if !g.mayCreate {
		if v, err := db.SchemaVersion(ctx); err != nil || v == 0 {
			db.Close()
			if err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("the database at %s holds no store: check --db, or create one with `epermit migrate`", redactDSN(g.db))
		}
	}
	if migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, err
		}
		for _, m := range applied {
			g.log.Info("migrated", "migration", m)
		}
	}
	return db, nil
}

// redactDSN is a database name fit for a message: a URL without its
// password.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// withAuthority makes a command's RunE that runs with the authority over
// the migrated store, closed when the command ends. Commands that check
// their input first, to fail without touching the store, open it
// themselves.
func (g *globals) withAuthority(run func(cmd *cobra.Command, a *authority.Authority) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		a, closeStore, err := g.authority(cmd.Context(), true)
		if err != nil {
			return err
		}
		defer closeStore()
		return run(cmd, a)
	}
}

// authority opens the store (migrating it unless told not to) and returns
// the authority over it, and the function that closes it.
func (g *globals) authority(ctx context.Context, migrate bool) (*authority.Authority, func(), error) {
	db, err := g.openStore(ctx, migrate)
	if err != nil {
		return nil, nil, err
	}
	set, err := authority.LoadSettings(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("read the store's settings (is it migrated? `epermit migrate`): %w", err)
	}
	g.settings = set
	var policy permit.Policy
	if g.policy != "" {
		// Validated before anything runs: a wrong policy file stops the
		// server rather than issue under rules nobody meant.
		data, err := os.ReadFile(g.policy)
		if err != nil {
			db.Close()
			return nil, nil, usageError{fmt.Errorf("--policy: %w", err)}
		}
		if policy, err = permit.ParsePolicy(data); err != nil {
			db.Close()
			describe(os.Stderr, err)
			return nil, nil, usageError{fmt.Errorf("--policy %s: %w", g.policy, err)}
		}
	}
	cfg := authority.Config{FaceMode: g.faceMode, Demo: g.demo, StatusTTL: g.statusTTL, StatusValidity: g.statusValidity, Policy: policy}
	// What `epermit init` recorded wins, so that every command and replica
	// writes the same URIs into credentials; a flag that says otherwise is
	// refused, unless `epermit settings set` is recording it.
	for _, s := range []struct {
		flag, recorded string
		value          *string
		to             *string
	}{
		{"public-url", set.PublicURL, &g.publicURL, &cfg.PublicURL},
		{"status-url", set.StatusURL, &g.statusURL, &cfg.StatusURL},
		{"issuer-id", set.IssuerID, &g.issuerID, &cfg.IssuerID},
	} {
		v := strings.TrimSuffix(*s.value, "/")
		given := g.flags != nil && g.flags.Changed(s.flag)
		switch {
		case s.recorded == "":
			*s.to = v
		case !given:
			*s.to = s.recorded
			*s.value = s.recorded
		case v == s.recorded || g.recordSettings:
			*s.to = v
		default:
			db.Close()
			return nil, nil, usageError{fmt.Errorf("--%s %q differs from %q, which `epermit init` recorded for every command and replica: drop the flag (or its EPERMIT_ variable), or change the recorded value with `epermit settings set --%s %s`",
				s.flag, v, s.recorded, s.flag, v)}
		}
	}
	kms := g.kms
	if kms == "" {
		kms = set.KMS
	}
	ks := &keys.Store{Dir: g.data, KMS: kms}
	cfg.KMS = g.kms
	switch {
	case g.outbox != nil:
		cfg.Notifier = g.outbox
	case g.smsURL != "":
		cfg.Notifier = &notify.Gateway{URL: g.smsURL, Token: g.smsToken}
	}
	if g.faceMode == authority.FaceHTTP && g.faceURL != "" {
		cfg.FaceCheck = &face.Provider{URL: g.faceURL, Token: g.faceToken}
	}
	a, err := authority.New(db, ks, cfg, g.log)
	if err != nil {
		db.Close()
		return nil, nil, usageError{err}
	}
	return a, func() {
		db.Close()
		if err := ks.Close(); err != nil {
			g.log.Warn("closing the key store", "err", err)
		}
	}, nil
}

// changesState marks a command that changes the authority's state: it
// refuses to run without an officer's name, except in the demo.
func changesState(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations["changes-state"] = "yes"
	return cmd
}

// officerActor checks --officer (EPERMIT_OFFICER) and returns the audit
// actor for a command: "cli:NAME", lower case as the console compares
// officer names, or "" when no name was given.
func officerActor(cmd *cobra.Command, officer string) (string, error) {
	name := strings.ToLower(strings.TrimSpace(officer))
	if name == "" {
		if cmd.Annotations["changes-state"] != "" {
			return "", usageError{fmt.Errorf("%s changes state: say who you are with --officer NAME or EPERMIT_OFFICER", cmd.CommandPath())}
		}
		return "", nil
	}
	if len(name) > 64 {
		return "", usageError{errors.New("--officer: at most 64 characters")}
	}
	for _, r := range name {
		if r < 0x21 || r > 0x7e {
			return "", usageError{errors.New("--officer: printable ASCII without spaces only")}
		}
	}
	return "cli:" + name, nil
}

// cliContext is the context of a command that changes state; it names the
// officer in the audit log (set up before the command runs).
func cliContext(cmd *cobra.Command) context.Context { return cmd.Context() }

// usageError makes main exit with exitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitError makes main exit with code after the command printed its result.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// describe prints a domain error's problems one per line.
func describe(w io.Writer, err error) {
	var pe *permit.Error
	if errors.As(err, &pe) {
		for _, p := range pe.Problems {
			fmt.Fprintf(w, "  %s: %s (%s)\n", p.Field, p.Reason, p.Code)
		}
	}
}
