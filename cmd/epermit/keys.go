package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

func keysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage issuer signing keys"}
	newKey := func(use, short string, run func(*authority.Authority, context.Context) (*permit.IssuerKey, error)) *cobra.Command {
		return changesState(&cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
				k, err := run(a, cliContext(cmd))
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "active key %s (%s)\n", k.Kid, k.Ref)
				return nil
			}),
		})
	}
	cmd.AddCommand(
		newKey("init", "Create the first issuer key", (*authority.Authority).InitKeys),
		newKey("rotate", "Make a new active key; the old one is kept for verification", (*authority.Authority).RotateKey),
		revokeKeyCmd(g),
		&cobra.Command{
			Use: "list", Short: "List issuer keys and whether the trust list publishes them", Args: cobra.NoArgs,
			RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
				ks, err := a.Keys(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KID\tSTATE\tCREATED\tRETIRED\tLAST EXPIRY\tPUBLISHED\tREF")
				now := time.Now()
				for _, k := range ks {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\t%s\n", k.Kid, k.State, stamp(k.CreatedAt), stamp(k.RetiredAt),
						stamp(k.LastExpiry), authority.Published(k, now), k.Ref)
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
