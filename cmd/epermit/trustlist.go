package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/authority"
)

// The serving side's half of the root of trust (docs/keys.md): requests
// out to the offline root, certificates and signed lists back in.

func keysCSRCmd(g *globals) *cobra.Command {
	var kid, out string
	var period time.Duration
	cmd := &cobra.Command{
		Use:   "csr --kid KID",
		Short: "Write the certificate request of an issuer key, for `epermit root sign`",
		Args:  cobra.NoArgs,
		RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			der, err := a.KeyCSR(cmd.Context(), kid, period)
			if err != nil {
				return err
			}
			return writeOut(cmd.OutOrStdout(), out, pki.EncodePEM(pki.PEMRequest, der))
		}),
	}
	cmd.Flags().StringVar(&kid, "kid", "", "the key's id as `epermit keys list` shows it (required)")
	cmd.Flags().StringVar(&out, "out", "", "write the request (PEM) here (default standard output)")
	daysFlag(cmd, &period, "signing-period", authority.DefaultSigningPeriod, "how long the key asks to sign for, from now")
	markRequired(cmd, "kid")
	return cmd
}

func keysCertifyCmd(g *globals) *cobra.Command {
	var kid, certFile, rootFile, crossFile string
	cmd := &cobra.Command{
		Use:   "certify --kid KID --cert FILE [--root root.pem]",
		Short: "Record an issuer key's certificate from `epermit root sign` (the first also records the root)",
		Args:  cobra.NoArgs,
		RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			cert, err := readCert(certFile)
			if err != nil {
				return err
			}
			var root []byte
			if rootFile != "" {
				if root, err = readCert(rootFile); err != nil {
					return err
				}
			}
			var cross []byte
			if crossFile != "" {
				if cross, err = readCert(crossFile); err != nil {
					return err
				}
			}
			k, err := a.CertifyKey(cliContext(cmd), kid, cert, root, cross)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s (%s) certified: signs until %s, certificate valid until %s\n", k.Kid, k.State,
				stamp(k.UsageNotAfter), stamp(k.CertNotAfter))
			return nil
		}),
	}
	cmd.Flags().StringVar(&kid, "kid", "", "the key's id (required)")
	cmd.Flags().StringVar(&certFile, "cert", "", "the certificate from `epermit root sign`, PEM or DER (required)")
	cmd.Flags().StringVar(&rootFile, "root", "", "the root certificate (`epermit root export`); needed the first time")
	cmd.Flags().StringVar(&crossFile, "cross", "", "in a root rollover: the new root's cross certificate (NEWDIR/cross.pem), for a certificate from the new root")
	markRequired(cmd, "kid", "cert")
	return changesState(cmd)
}

// readCert reads a PEM or DER certificate file.
func readCert(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return pki.DecodePEM(data, pki.PEMCertificate)
}

func keysActivateCmd(g *globals) *cobra.Command {
	var kid string
	cmd := &cobra.Command{
		Use:   "activate --kid KID",
		Short: "Make the pending key active once certified and in the imported trust list",
		Args:  cobra.NoArgs,
		RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			k, err := a.ActivateKey(cliContext(cmd), kid)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "active key %s (%s)\n", k.Kid, k.Ref)
			return nil
		}),
	}
	cmd.Flags().StringVar(&kid, "kid", "", "the pending key's id (required)")
	markRequired(cmd, "kid")
	return changesState(cmd)
}

func trustListCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "trust-list", Short: "The trust list signed by the offline root (docs/keys.md)"}
	var out string
	request := &cobra.Command{
		Use:   "request",
		Short: "Write what the root signs into the next list: every published key's certificate and the revoked keys",
		Args:  cobra.NoArgs,
		RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			r, err := a.RequestTrustList(cmd.Context())
			if err != nil {
				return err
			}
			for _, kid := range r.Uncertified {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: key %s is published but has no certificate: gates holding the list will refuse what it signed\n", kid)
			}
			data, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				return err
			}
			return writeOut(cmd.OutOrStdout(), out, append(data, '\n'))
		}),
	}
	request.Flags().StringVar(&out, "out", "", "write the request here (default standard output)")
	var newRoot string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Take a list from `epermit root sign-list`: checked under the root, published at /.well-known/epermit-trust-list",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			var root []byte
			if newRoot != "" {
				if root, err = readCert(newRoot); err != nil {
					return err
				}
			}
			return g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
				rec, imported, err := a.ImportTrustList(cliContext(cmd), doc, root)
				if err != nil {
					return err
				}
				what := "imported"
				if !imported {
					what = "imported already"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "trust list %d %s; next update due before %s\n", rec.Seq, what, stamp(rec.ExpiresAt))
				return nil
			})(cmd, args)
		},
	}
	imp.Flags().StringVar(&newRoot, "root", "", "in a root rollover, the new root's certificate, to record instead of its cross certificate")
	cmd.AddCommand(request, changesState(imp))
	return cmd
}
