package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/permit"
)

// suspendCmd and reinstateCmd put an e-permit on hold and take it off again,
// until the officer pages exist.
func suspendCmd(g *globals) *cobra.Command {
	return stateCmd(g, "suspend", "Suspend an active e-permit until it is reinstated", "suspended",
		func(a stateChanger, ctx context.Context, cti []byte, reason string) (*permit.Credential, error) {
			return a.Suspend(ctx, cti, reason)
		})
}

func reinstateCmd(g *globals) *cobra.Command {
	return stateCmd(g, "reinstate", "Make a suspended e-permit active again", "reinstated",
		func(a stateChanger, ctx context.Context, cti []byte, reason string) (*permit.Credential, error) {
			return a.Reinstate(ctx, cti, reason)
		})
}

// stateChanger is the part of the authority these commands use.
type stateChanger interface {
	Suspend(ctx context.Context, cti []byte, reason string) (*permit.Credential, error)
	Reinstate(ctx context.Context, cti []byte, reason string) (*permit.Credential, error)
}

func stateCmd(g *globals, use, short, done string,
	change func(a stateChanger, ctx context.Context, cti []byte, reason string) (*permit.Credential, error)) *cobra.Command {
	var ctiHex, reason string
	cmd := &cobra.Command{
		Use:   use + " --cti HEX --reason TEXT",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cti, err := parseCTI(ctiHex)
			if err != nil {
				return err
			}
			a, closeStore, err := g.authority(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeStore()
			c, err := change(a, cliContext(cmd), cti, reason)
			if err != nil {
				describe(cmd.ErrOrStderr(), err)
				return err
			}
			printState(cmd.OutOrStdout(), done, c)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&ctiHex, "cti", "", "the e-permit's id (cti), 32 hex digits (required)")
	f.StringVar(&reason, "reason", "", "why (required; kept with the e-permit and in the audit log)")
	markRequired(cmd, "cti", "reason")
	return changesState(cmd)
}
