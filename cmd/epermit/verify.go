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
		Use:   "verify [--use flight|train|border] (--trust FILE | --authority URL | --root CERT --trust-list FILE|URL) [--offline] [--at RFC3339] (TEXT | --png FILE)",
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
			trust, status, err := cf.sources(cmd.Context(), now)
			if code, msg, ok := refusedList(err); ok {
				// A gate with no acceptable list refuses, with the list's code.
				fmt.Fprintln(cmd.ErrOrStderr(), "epermit:", err)
				return printResult(cmd.OutOrStdout(), &verify.Result{Decision: verify.Reject, Code: code, Message: msg, Use: u, At: now}, false)
			}
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
