package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	_ "github.com/epermit/epermit/credential/sm2" // a gate of this authority accepts both suites (spec §1.1)
	"github.com/epermit/epermit/internal/qrcode"
	"github.com/epermit/epermit/verify"
)

// verifyCmd checks a presentation as a gate would, with the library third
// parties use, and prints the result as JSON.
func verifyCmd() *cobra.Command {
	var use, at, pngFile string
	var cf checkerFlags
	cmd := &cobra.Command{
		Use:   "verify [--use flight|train|border] (--trust FILE | --authority URL) [--offline] [--at RFC3339] (TEXT | --png FILE)",
		Short: "Verify an EP1 presentation as a gate would; exit 0 accepted, 1 rejected",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := verify.ParseUse(use)
			if err != nil {
				return usageError{err}
			}
			now, err := parseAt(at)
			if err != nil {
				return err
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
			trust, status, err := cf.sources(cmd.Context())
			if err != nil {
				return err
			}
			r := verify.New(trust, status, verify.Policy{Use: u}).Verify(cmd.Context(), text, now)
			return printResult(cmd.OutOrStdout(), r, r.Accepted())
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&use, "use", "flight", "what the holder is checked for: flight, train or border")
	f.StringVar(&pngFile, "png", "", "read the QR code from a PNG image instead of TEXT")
	f.StringVar(&at, "at", "", "verify as of this time (RFC 3339; default now)")
	return usesFlags(cmd, "log")
}
