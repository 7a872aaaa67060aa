package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// counterIssue is what differs between the counter issuance commands
// (`issue` and `linkage issue`); counterCmd is their one body.
type counterIssue struct {
	use, short string
	withReason bool   // the e-permit takes --reason
	outHelp    string // what --out writes
	issue      func(ctx context.Context, a *authority.Authority, t permit.DocumentType, number string,
		reason permit.Reason, holder *ecdsa.PublicKey) (*permit.Credential, error)
	// text is the credential as printed; file as written to --out, after
	// which written says so on stderr.
	text    func(c *permit.Credential) string
	file    func(c *permit.Credential) []byte
	written func(a *authority.Authority, c *permit.Credential, out string) string
}

// counterCmd reads the travel permit (and reason) and the holder's key,
// issues through the authority under the operator's name with the same
// rules and audit as online, and prints the credential or writes it to
// --out.
func counterCmd(g *globals, k counterIssue) *cobra.Command {
	var docType, number, reason, holderKey, out string
	cmd := &cobra.Command{
		Use:   k.use,
		Short: k.short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := permit.ParseDocumentType(docType)
			if err != nil {
				return usageError{err}
			}
			var r permit.Reason
			if k.withReason {
				if r, err = permit.ParseReason(reason); err != nil {
					return usageError{err}
				}
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
			c, err := k.issue(cliContext(cmd), a, t, number, r, pub)
			if err != nil {
				describe(cmd.ErrOrStderr(), err)
				return err
			}
			if out == "" {
				fmt.Fprintln(cmd.OutOrStdout(), k.text(c))
				return nil
			}
			if err := os.WriteFile(out, k.file(c), 0o600); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), k.written(a, c, out))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&docType, "document-type", "", "hk, mo or tw (required)")
	f.StringVar(&number, "document-number", "", "the travel permit number as printed (required)")
	required := []string{"document-type", "document-number"}
	if k.withReason {
		f.StringVar(&reason, "reason", "", "lost, damaged or forgotten (required)")
		required = append(required, "reason")
	}
	required = append(required, "holder-key")
	f.StringVar(&holderKey, "holder-key", "", "the holder's device public key, PEM (required)")
	f.StringVar(&out, "out", "", k.outHelp)
	markRequired(cmd, required...)
	return changesState(cmd)
}
