package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/audit"
)

func auditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit log"}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain; report the first changed, inserted or deleted event",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, closeStore, err := g.authority(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer closeStore()
			n, err := a.VerifyAudit(cmd.Context())
			var p *audit.Problem
			if errors.As(err, &p) {
				fmt.Fprintf(cmd.OutOrStdout(), "BROKEN after %d good events: %v\n", n, p)
				return exitError{exitFailure}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d events, chain intact\n", n)
			return nil
		},
	})
	return cmd
}
