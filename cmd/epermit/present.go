package main

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/permit"
)

// presentCmd does what the holder's device does at a gate (spec §3): it
// signs a fresh proof over a stored credential and prints the EP1 QR text,
// so that officers and integrators can test gates and verifiers without a
// phone.
func presentCmd(*globals) *cobra.Command {
	var credFile, holderKey, at, pngFile string
	cmd := &cobra.Command{
		Use:   "present",
		Short: "Build the gate presentation (EP1 QR text, optionally a PNG) of a credential with the holder's key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			cred, priv, err := holderMaterial(credFile, holderKey, func(b []byte) (*credential.EPermit, *ecdsa.PublicKey, error) {
				c, err := readCredential(b)
				if err != nil {
					return nil, nil, err
				}
				return c, c.Claims.Holder, nil
			}, "the holder key is not the credential's device key (cnf): no gate would accept the proof")
			if err != nil {
				return err
			}
			if c := cred.Claims; when.Before(c.NotBefore) || !when.Before(c.Expiry) {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the credential is valid from %s until %s, not at %s; gates will refuse it\n",
					c.NotBefore.In(permit.ChinaTime).Format(time.RFC3339), c.Expiry.In(permit.ChinaTime).Format(time.RFC3339),
					when.In(permit.ChinaTime).Format(time.RFC3339))
			}
			pres, err := credential.Present(cred.Raw, priv, when)
			if err != nil {
				return err
			}
			text := credential.EncodeQR(pres)
			if pngFile != "" {
				sym, err := qrcode.Encode(text)
				if err != nil {
					return err
				}
				img, err := sym.PNG(qrcode.DefaultScale)
				if err != nil {
					return err
				}
				// 0600: until its proof goes stale the QR admits its holder.
				if err := os.WriteFile(pngFile, img, 0o600); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "QR version %d (alphanumeric, level M, %d characters) written to %s\n",
					sym.Version, len(text), pngFile)
			}
			fmt.Fprintln(cmd.OutOrStdout(), text)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&credFile, "credential", "", "the e-permit: raw COSE bytes (issue --out) or base64url text (issue's output) (required)")
	f.StringVar(&holderKey, "holder-key", "", "the holder's device private key, PKCS#8 PEM (required)")
	f.StringVar(&at, "at", "", "time of the proof, RFC 3339 (default now)")
	f.StringVar(&pngFile, "png", "", "also write the QR code as a PNG to FILE")
	markRequired(cmd, "credential", "holder-key")
	return usesFlags(cmd, "log")
}

// readCredential accepts the two forms `epermit issue` produces: the raw
// tagged COSE_Sign1 (--out), which starts with tag 18's byte 0xd2, and its
// base64url text (printed), with or without padding and a final newline.
func readCredential(b []byte) (*credential.EPermit, error) {
	raw := b
	if len(b) == 0 || b[0] != 0xd2 {
		text := bytes.TrimRight(bytes.TrimSpace(b), "=")
		raw = make([]byte, base64.RawURLEncoding.DecodedLen(len(text)))
		n, err := base64.RawURLEncoding.Decode(raw, text)
		if err != nil {
			return nil, fmt.Errorf("neither COSE bytes nor base64url text: %w", err)
		}
		raw = raw[:n]
	}
	return credential.ParseEPermit(raw)
}
