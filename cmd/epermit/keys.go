package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/store"
)

func keysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage issuer signing keys"}
	newKey := func(use, short string, run func(*authority.Authority, context.Context) (*store.IssuerKey, error)) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				a, closeStore, err := g.authority(cmd.Context(), true)
				if err != nil {
					return err
				}
				defer closeStore()
				k, err := run(a, cliContext(cmd))
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "active key %s (%s)\n", k.Kid, k.Ref)
				return nil
			},
		}
	}
	cmd.AddCommand(
		newKey("init", "Create the first issuer key", (*authority.Authority).InitKeys),
		newKey("rotate", "Make a new active key; the old one is kept for verification", (*authority.Authority).RotateKey),
		&cobra.Command{
			Use: "list", Short: "List issuer keys and whether the trust list publishes them", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				a, closeStore, err := g.authority(cmd.Context(), true)
				if err != nil {
					return err
				}
				defer closeStore()
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
			},
		},
	)
	return cmd
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
