package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/permit"
)

func keysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage issuer signing keys"}
	newKey := func(use, short, algHelp string, run func(*authority.Authority, context.Context, keys.Algorithm) (*permit.IssuerKey, error)) *cobra.Command {
		var algName, kms, csrOut string
		var period time.Duration
		c := &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				var alg keys.Algorithm // "" lets rotate keep the active key's
				if algName != "" {
					var err error
					if alg, err = keys.ParseAlgorithm(algName); err != nil {
						return usageError{err}
					}
				}
				if err := keys.CheckKMS(kms); err != nil {
					return usageError{err}
				}
				if err := keys.CheckAlgorithm(kms, alg); err != nil {
					return usageError{err}
				}
				if err := keys.Supported(kms); err != nil {
					return err
				}
				g.kms = kms
				return g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
					k, err := run(a, cliContext(cmd), alg)
					if err != nil {
						return err
					}
					if k.State != permit.KeyPending {
						fmt.Fprintf(cmd.OutOrStdout(), "active key %s (%s)\n", k.Kid, k.Ref)
						return nil
					}
					// Under a root: the key waits for its certificate.
					der, err := a.KeyCSR(cmd.Context(), k.Kid, period)
					if err != nil {
						return err
					}
					if csrOut == "" {
						csrOut = filepath.Join(g.data, k.Kid+".csr.pem")
					}
					if err := os.WriteFile(csrOut, pki.EncodePEM(pki.PEMRequest, der), 0o644); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "pending key %s (%s); certificate request in %s\n", k.Kid, k.Ref, csrOut)
					fmt.Fprintf(cmd.ErrOrStderr(), "next: `epermit root sign --csr %s` on the root machine, `epermit keys certify --kid %s`, a new trust list (`trust-list request`, `root sign-list`, `trust-list import`), then `epermit keys activate --kid %s`\n",
						filepath.Base(csrOut), k.Kid, k.Kid)
					return nil
				})(cmd, args)
			},
		}
		c.Flags().StringVar(&algName, "algorithm", "", algHelp)
		c.Flags().StringVar(&kms, "kms", "", "where to make the key: file: or a pkcs11: URI (default: where `epermit init` or the last --kms said, else file:)")
		if use == "rotate" {
			c.Flags().StringVar(&csrOut, "csr-out", "", "under a root: write the new key's certificate request here (default DATA/KID.csr.pem)")
			daysFlag(c, &period, "signing-period", authority.DefaultSigningPeriod, "under a root: how long the new key asks to sign for")
		}
		return changesState(c)
	}
	cmd.AddCommand(
		newKey("init", "Create the first issuer key", "es256 (default) or sm2 (SM2 with SM3)",
			func(a *authority.Authority, ctx context.Context, alg keys.Algorithm) (*permit.IssuerKey, error) {
				if alg == "" {
					alg = keys.ES256
				}
				return a.InitKeysWith(ctx, alg)
			}),
		newKey("rotate", "Make a new active key (under a root: a pending one and its request); the old one is kept for verification",
			"es256 or sm2 (SM2 with SM3); default: the active key's", (*authority.Authority).RotateKeyWith),
		revokeKeyCmd(g), keysCSRCmd(g), keysCertifyCmd(g), keysActivateCmd(g),
		&cobra.Command{
			Use: "list", Short: "List issuer keys and whether the trust list publishes them", Args: cobra.NoArgs,
			RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
				ks, err := a.Keys(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KID\tSTATE\tCREATED\tRETIRED\tLAST EXPIRY\tPUBLISHED\tSIGNS UNTIL\tREF\tALG")
				now := time.Now()
				for _, k := range ks {
					alg := "?"
					if pub, err := credential.ParsePublicKey(k.PublicKey); err == nil {
						alg, _ = credential.KeyAlgorithm(pub)
					}
					// SIGNS UNTIL: the end of the certificate's usage period
					// under a root of trust; "-" when not certified.
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\t%s\t%s\n", k.Kid, k.State, stamp(k.CreatedAt), stamp(k.RetiredAt),
						stamp(k.LastExpiry), authority.Published(k, now), stamp(k.UsageNotAfter), k.Ref, alg)
				}
				return tw.Flush()
			}),
		},
	)
	return cmd
}

// revokeKeyCmd withdraws a leaked key: out of the trust list at once, and
// every current credential it signed revoked. The kid is a flag, not an
// argument: a base64url kid may start with "-".
func revokeKeyCmd(g *globals) *cobra.Command {
	var kid, reason string
	cmd := &cobra.Command{
		Use:   "revoke --kid KID --reason TEXT",
		Short: "Withdraw a leaked retired key from the trust list and revoke what it signed",
		Args:  cobra.NoArgs,
		RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			cs, err := a.RevokeKey(cliContext(cmd), kid, reason)
			if err != nil {
				describe(cmd.ErrOrStderr(), err)
				return err
			}
			for _, c := range cs {
				printState(cmd.OutOrStdout(), "revoked", &c)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s revoked and out of the trust list; %d credentials revoked\n", kid, len(cs))
			return nil
		}),
	}
	cmd.Flags().StringVar(&kid, "kid", "", "the key's id as `epermit keys list` shows it (required; write --kid=KID if it starts with -)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; in the audit log and with each credential)")
	markRequired(cmd, "kid", "reason")
	return changesState(cmd)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
