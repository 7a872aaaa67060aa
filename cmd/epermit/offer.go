package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/permit"
)

// offerCmd makes an OpenID4VCI credential offer at the counter: the holder
// scans it with their own wallet, which binds the credential to its own
// device key; the transaction code goes to the phone on record.
func offerCmd(g *globals) *cobra.Command {
	var kind, docType, number, reason, png string
	cmd := &cobra.Command{
		Use:   "offer --kind epermit|linkage --document-type hk|mo|tw --document-number N [--reason R] [--png FILE]",
		Short: "Offer an e-permit or a linkage proof to the holder's wallet (OpenID4VCI; the transaction code goes by SMS)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := authority.OfferRequest{DocumentNumber: number}
			switch kind {
			case "epermit":
				req.Kind = permit.TemporaryEPermit
			case "linkage":
				req.Kind = permit.LinkageProofKind
			default:
				return usageError{fmt.Errorf("--kind must be epermit or linkage")}
			}
			var err error
			if req.DocumentType, err = permit.ParseDocumentType(docType); err != nil {
				return usageError{err}
			}
			if req.Kind == permit.TemporaryEPermit {
				if req.Reason, err = permit.ParseReason(reason); err != nil {
					return usageError{err}
				}
			} else if reason != "" {
				return usageError{fmt.Errorf("--reason is for e-permits only")}
			}
			a, closeStore, err := g.authority(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeStore()
			o, err := a.OfferAtCounter(cliContext(cmd), req)
			if err != nil {
				describe(cmd.ErrOrStderr(), err)
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), o.ByReference())
			fmt.Fprintf(cmd.ErrOrStderr(), "offer of %s valid until %s; transaction code sent to %s\n", o.ConfigurationID,
				o.ExpiresAt.In(permit.ChinaTime).Format("2006-01-02 15:04 MST"), o.PhoneHint)
			if png != "" {
				img, err := qrcode.RenderText(o.ByReference())
				if err != nil {
					return err
				}
				if err := os.WriteFile(png, img, 0o600); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "epermit or linkage (required)")
	f.StringVar(&docType, "document-type", "", "hk, mo or tw (required)")
	f.StringVar(&number, "document-number", "", "the travel permit number as printed (required)")
	f.StringVar(&reason, "reason", "", "lost, damaged or forgotten (e-permits)")
	f.StringVar(&png, "png", "", "also write the offer's QR code to FILE (PNG)")
	markRequired(cmd, "kind", "document-type", "document-number")
	return cmd
}
