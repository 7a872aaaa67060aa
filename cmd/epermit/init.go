package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
)

// initCmd sets up a new store: its settings, the first issuer key and the
// first admin officer.
func initCmd(g *globals) *cobra.Command {
	var kms, admin, algorithm string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Set up a new store: URLs, the first issuer key and the first admin officer",
		Long: `init sets up a store that was never set up: it creates the database
(--db: a SQLite path or a postgres:// URL), records the public URL, the
status URL and the issuer id that every later command and replica writes
into credentials, makes the first issuer key where --kms says (file: or a
pkcs11: URI, see docs/keys.md), and registers the first admin officer,
whose API key it shows once. It prints the next steps.

When --public-url or --admin is missing, init asks on a terminal for it and
for the other values not given (database, status URL, key store); without
a terminal it fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := &asker{in: bufio.NewReader(cmd.InOrStdin()), out: cmd.ErrOrStderr(), tty: isTerminal(cmd.InOrStdin())}
			given := cmd.Flags().Changed
			// A command line with every required value runs as given; one
			// lacking some, on a terminal, is a guided set-up that also
			// offers the optional values.
			guided := q.tty && (!given("public-url") || !given("admin"))
			var err error
			if !given("db") && guided {
				if g.db, err = q.ask("Database: a SQLite file path or a postgres:// URL", g.db, false); err != nil {
					return err
				}
			}
			if !given("public-url") {
				if g.publicURL, err = q.ask("Public URL: the base URL clients reach, e.g. https://epermit.example", "", true); err != nil {
					return usageError{fmt.Errorf("--public-url: %w", err)}
				}
			}
			g.publicURL = strings.TrimSuffix(g.publicURL, "/")
			if err := authority.CheckBaseURL("--public-url", g.publicURL); err != nil {
				return usageError{err}
			}
			if !given("status-url") && guided {
				if g.statusURL, err = q.ask("Status URL: the base of status list URIs in every QR (a short host keeps QRs small)", g.publicURL, false); err != nil {
					return err
				}
			}
			if g.statusURL = strings.TrimSuffix(g.statusURL, "/"); g.statusURL == "" {
				g.statusURL = g.publicURL
			}
			if err := authority.CheckBaseURL("--status-url", g.statusURL); err != nil {
				return usageError{err}
			}
			if !given("kms") && guided {
				if kms, err = q.ask("Issuer key store: file: (key files under --data) or a pkcs11: URI", "file:", false); err != nil {
					return err
				}
			}
			if kms == "" {
				kms = "file:"
			}
			if err := keys.CheckKMS(kms); err != nil {
				return usageError{err}
			}
			alg, err := keys.ParseAlgorithm(algorithm)
			if err != nil {
				return usageError{err}
			}
			if err := keys.CheckAlgorithm(kms, alg); err != nil {
				return usageError{err}
			}
			if err := keys.Supported(kms); err != nil {
				return err
			}
			if !given("admin") {
				if admin, err = q.ask("Name of the first admin officer", "", true); err != nil {
					return usageError{fmt.Errorf("--admin: %w", err)}
				}
			}

			// The flags are what init records; a store set up before is
			// refused by Init, not by the settings check.
			g.kms, g.recordSettings = kms, true
			g.mayCreate = true // init is one of the three commands that create a store
			ctx := cliContext(cmd)
			a, closeStore, err := g.authority(ctx, true)
			if err != nil {
				return err
			}
			defer closeStore()
			k, officer, officerKey, err := a.Init(ctx, alg, admin)
			if err != nil {
				describe(cmd.ErrOrStderr(), err)
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, `epermit is set up.

  store        %s
  public URL   %s
  status URL   %s
  issuer id    %s
  issuer key   %s %s (%s)
  admin        %s; API key, shown once and never again:

    %s

Next steps:
  1. Import the registry:        epermit registry import FILE --db %[1]s
  2. Run the server:             epermit serve --db %[1]s --sms-url URL --face-mode http|officer
     (every replica uses the URLs recorded here; see docs/deployment.md)
  3. Register gates and banks:   epermit verifier add --name N --kind railway
                                 epermit institution add --name N --kind bank
  4. Sign in to the officer console at %[2]s/officer/ with the admin key.
  5. Back up the database and the issuer key (docs/backup.md, docs/keys.md).
`, redactDSN(g.db), a.Config().PublicURL, a.Config().StatusURL, a.Config().IssuerID, k.Kid, strings.ToUpper(string(alg)), k.Ref, officer.Name, officerKey)
			if keys.Scheme(k.Ref) == "pkcs11" {
				fmt.Fprintf(w, `
The issuer key is in the token and never leaves it. Every server and
command that signs needs the PKCS#11 module at the same path, the token, and
its PIN from the pin-source file or $%s (docs/keys.md).
`, keys.PINEnv)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kms, "kms", "", "where to make the issuer key: file: (default) or a pkcs11: URI with module-path= and pin-source= (docs/keys.md)")
	cmd.Flags().StringVar(&algorithm, "algorithm", "es256", "issuer key algorithm: es256 or sm2 (SM2 with SM3; file keys only)")
	cmd.Flags().StringVar(&admin, "admin", "", "name of the first admin officer")
	return cmd
}

// settingsCmd shows the recorded settings and changes the URLs and the
// issuer id when the service moves.
func settingsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Show what `epermit init` recorded for every command and replica",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := g.openStore(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer db.Close()
			s, err := authority.LoadSettings(cmd.Context(), db)
			if err != nil {
				return err
			}
			if !s.Initialised {
				return errors.New("the store was never set up: run `epermit init`")
			}
			show := func(v string) string {
				if v == "" {
					return "(not recorded: flags and defaults apply)"
				}
				return v
			}
			fmt.Fprintf(cmd.OutOrStdout(), "public URL   %s\nstatus URL   %s\nissuer id    %s\nkey store    %s\n",
				show(s.PublicURL), show(s.StatusURL), show(s.IssuerID), show(s.KMS))
			return nil
		},
	}
	set := &cobra.Command{
		Use:   "set [--public-url URL] [--status-url URL] [--issuer-id ID]",
		Short: "Record new URLs or issuer id for every command and replica (credentials issued keep theirs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var names []string
			for flag, name := range map[string]string{"public-url": "public_url", "status-url": "status_url", "issuer-id": "issuer_id"} {
				if cmd.Flags().Changed(flag) {
					names = append(names, name)
				}
			}
			if len(names) == 0 {
				return usageError{errors.New("give --public-url, --status-url or --issuer-id")}
			}
			g.recordSettings = true
			return g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
				if !g.settings.Initialised {
					return errors.New("the store was never set up: run `epermit init`")
				}
				changed, err := a.RecordSettings(cliContext(cmd), names...)
				if err != nil {
					return err
				}
				if len(changed) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "nothing changed")
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "recorded %s; credentials issued before keep the URIs they carry\n", strings.Join(changed, ", "))
				}
				return nil
			})(cmd, nil)
		},
	}
	cmd.AddCommand(set)
	return cmd
}

// asker asks for missing values on a terminal.
type asker struct {
	in  *bufio.Reader
	out io.Writer
	tty bool
}

// ask prints question and reads a line; an empty answer takes def. Without
// a terminal it returns def, or fails if the value is required.
func (q *asker) ask(question, def string, required bool) (string, error) {
	if !q.tty {
		if required {
			return "", errors.New("required, and there is no terminal to ask on")
		}
		return def, nil
	}
	for {
		if def != "" {
			fmt.Fprintf(q.out, "%s [%s]: ", question, def)
		} else {
			fmt.Fprintf(q.out, "%s: ", question)
		}
		line, err := q.in.ReadString('\n')
		line = strings.TrimSpace(line)
		if line == "" {
			line = def
		}
		if line != "" || !required {
			return line, nil
		}
		if err != nil {
			return "", fmt.Errorf("required: %w", err)
		}
	}
}

// isTerminal reports whether r is a terminal; a variable so that tests can
// answer the questions.
var isTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
