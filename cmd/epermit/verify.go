package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/verify"
)

// verifyCmd checks a presentation as a gate would, with the library third
// parties use, and prints the result as JSON.
func verifyCmd() *cobra.Command {
	var use, trustFile, authorityURL, at, pngFile string
	cmd := &cobra.Command{
		Use:   "verify [--use flight|train|border] (--trust FILE | --authority URL) [--at RFC3339] (TEXT | --png FILE)",
		Short: "Verify an EP1 presentation as a gate would; exit 0 accepted, 1 rejected",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := verify.ParseUse(use)
			if err != nil {
				return usageError{err}
			}
			now := time.Now()
			if at != "" {
				if now, err = time.Parse(time.RFC3339, at); err != nil {
					return usageError{fmt.Errorf("--at: %w", err)}
				}
			}
			var text string
			switch {
			case (len(args) == 1) == (pngFile != ""):
				return usageError{errors.New("give the QR text or --png FILE")}
			case pngFile != "":
				b, err := os.ReadFile(pngFile)
				if err != nil {
					return usageError{err}
				}
				// An image with no readable QR code is a rejection like any
				// unreadable scan, not a usage error.
				if text, err = qrcode.DecodePNG(b); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "epermit:", err)
				}
			default:
				text = strings.TrimSpace(args[0])
			}
			ctx := cmd.Context()
			client := &http.Client{Timeout: 10 * time.Second}
			var keys verify.Keys
			switch {
			case (trustFile == "") == (authorityURL == ""):
				return usageError{errors.New("give exactly one of --trust FILE and --authority URL")}
			case trustFile != "":
				l, err := verify.LoadTrustList(trustFile)
				if err != nil {
					return usageError{err}
				}
				keys = l
			default:
				l, err := verify.FetchTrustList(ctx, client, authorityURL)
				if err != nil {
					return err
				}
				keys = l
			}
			v := verify.New(keys, nil, verify.Policy{Use: u})
			r := v.Verify(ctx, text, now)
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(r); err != nil {
				return err
			}
			if !r.Accepted() {
				return exitError{exitFailure}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&use, "use", "flight", "what the holder is checked for: flight, train or border")
	f.StringVar(&trustFile, "trust", "", "trust list (JWK Set) file")
	f.StringVar(&authorityURL, "authority", "", "authority base URL to fetch the trust list and status lists from")
	f.StringVar(&pngFile, "png", "", "read the QR code from a PNG image instead of TEXT")
	f.StringVar(&at, "at", "", "verify as of this time (RFC 3339; default now)")
	return cmd
}
