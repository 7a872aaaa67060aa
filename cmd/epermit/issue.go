package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/permit"
)

func issueCmd(g *globals) *cobra.Command {
	var docType, number, reason, holderKey, out string
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a temporary e-permit at the counter (same rules and audit as online)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := permit.ParseDocumentType(docType)
			if err != nil {
				return usageError{err}
			}
			r, err := permit.ParseReason(reason)
			if err != nil {
				return usageError{err}
			}
			pub, err := readHolderKey(holderKey)
			if err != nil {
				return err
			}
			a, closeStore, err := g.authority(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeStore()
			c, err := a.IssueAtCounter(cliContext(cmd), t, number, r, pub)
			if err != nil {
				describe(cmd.ErrOrStderr(), err)
				return err
			}
			if out != "" {
				if err := os.WriteFile(out, c.Token, 0o600); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "e-permit %s written to %s, valid until %s\n",
					hex.EncodeToString(c.ID), out, c.ExpiresAt.In(permit.ChinaTime).Format("2006-01-02 15:04 MST"))
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), base64.RawURLEncoding.EncodeToString(c.Token))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&docType, "document-type", "", "hk, mo or tw (required)")
	f.StringVar(&number, "document-number", "", "the travel permit number as printed (required)")
	f.StringVar(&reason, "reason", "", "lost, damaged or forgotten (required)")
	f.StringVar(&holderKey, "holder-key", "", "the holder's device public key, PEM (required)")
	f.StringVar(&out, "out", "", "write the raw COSE bytes to FILE instead of printing base64url")
	markRequired(cmd, "document-type", "document-number", "reason", "holder-key")
	return cmd
}
