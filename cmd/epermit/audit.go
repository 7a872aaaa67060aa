package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/audit"
)

func auditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit log"}
	var anchorText string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain; report the first changed, inserted or deleted event",
		Long: `verify reads the whole audit log and checks its hash chain and head, then
that every credential issued, revoked or suspended and every API client added,
rekeyed or disabled in the store has its event (a log shorter than the facts
was cut short). It prints what it checked and the head as an anchor
(SEQ:HASH); keep that outside the database and pass it back with --anchor next
time, so that a log cut short together with its head row is caught too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var anchor *audit.Anchor
			if anchorText != "" {
				var err error
				if anchor, err = audit.ParseAnchor(anchorText); err != nil {
					return usageError{err}
				}
			}
			a, closeStore, err := g.authority(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer closeStore()
			r, err := a.VerifyAuditFrom(cmd.Context(), anchor)
			var p *audit.Problem
			var m *audit.Missing
			switch {
			case errors.As(err, &p):
				fmt.Fprintf(cmd.OutOrStdout(), "BROKEN after %d good events: %v\n", r.Head.Seq, p)
				return exitError{exitFailure}
			case errors.As(err, &m):
				fmt.Fprintf(cmd.OutOrStdout(), "BROKEN: %d events, chain intact, but %v\nchecked: %s\n", r.Head.Seq, m, r.Facts)
				return exitError{exitFailure}
			case err != nil:
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d events, chain intact\nfacts: %s, each with its event\nanchor: %s\n",
				r.Head.Seq, r.Facts, r.Head)
			return nil
		},
	}
	verify.Flags().StringVar(&anchorText, "anchor", "", "SEQ:HASH printed by an earlier run")
	cmd.AddCommand(verify)
	return cmd
}
