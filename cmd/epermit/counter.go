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
	withReason bool   // the e-permit takes --reason (and --kind)
	outHelp    string // what --out writes
	issue      func(ctx context.Context, a *authority.Authority, kind permit.Kind, t permit.DocumentType, number string,
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
	var docType, number, reason, holderKey, out, kindName string
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
			kind := permit.TemporaryEPermit
			switch {
			case k.withReason && kindName == "electronic":
				kind = permit.ElectronicPermit
				if reason != "" {
					return usageError{fmt.Errorf("the electronic permit takes no --reason")}
				}
			case k.withReason && kindName == "temporary":
				if r, err = permit.ParseReason(reason); err != nil {
					return usageError{fmt.Errorf("--reason: %w", err)}
				}
			case k.withReason:
				return usageError{fmt.Errorf("--kind must be temporary or electronic, not %q", kindName)}
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
			c, err := k.issue(cliContext(cmd), a, kind, t, number, r, pub)
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
		f.StringVar(&kindName, "kind", "temporary", "temporary, or electronic when the policy issues the long-lived electronic permit")
		f.StringVar(&reason, "reason", "", "lost, damaged or forgotten (required for a temporary e-permit)")
	}
	required = append(required, "holder-key")
	f.StringVar(&holderKey, "holder-key", "", "the holder's device public key, PEM (required)")
	f.StringVar(&out, "out", "", k.outHelp)
	markRequired(cmd, required...)
	return usesFlags(changesState(cmd), "store,log,officer,issuing")
}
