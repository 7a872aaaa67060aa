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
	var offline bool
	cmd := &cobra.Command{
		Use:   "verify [--use flight|train|border] (--trust FILE | --authority URL) [--offline] [--at RFC3339] (TEXT | --png FILE)",
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
			var trust *verify.TrustList
			switch {
			case (trustFile == "") == (authorityURL == ""):
				return usageError{errors.New("give exactly one of --trust FILE and --authority URL")}
			case trustFile != "":
				if trust, err = verify.LoadTrustList(trustFile); err != nil {
					return usageError{err}
				}
			default:
				if trust, err = verify.FetchTrustList(ctx, client, authorityURL); err != nil {
					return err
				}
			}
			// The status list is fetched from the URI in the credential; a
			// list that cannot be had is a warning, never a rejection.
			var status verify.StatusSource
			if !offline {
				status = verify.NewStatusCache(trust, verify.StatusCacheOptions{Client: client})
			}
			v := verify.New(trust, status, verify.Policy{Use: u})
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
	f.BoolVar(&offline, "offline", false, "do not fetch the status list (the result warns status_unknown)")
	f.StringVar(&pngFile, "png", "", "read the QR code from a PNG image instead of TEXT")
	f.StringVar(&at, "at", "", "verify as of this time (RFC 3339; default now)")
	return cmd
}
