package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
)

// faceCmd is the officer's review queue for --face-mode officer, until the
// officer console pages exist.
func faceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "face", Short: "Review selfies waiting for an officer (--face-mode officer)"}
	var dir string
	pending := &cobra.Command{
		Use: "pending", Short: "List pending reviews; with --dir, write each selfie and portrait there to compare",
		Args: cobra.NoArgs,
		RunE: g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			rs, err := a.PendingFaceReviews(cmd.Context())
			if err != nil {
				return err
			}
			for _, r := range rs {
				fmt.Fprintf(cmd.OutOrStdout(), "%d\t%s\t%s\n", r.ID, r.Document, r.CreatedAt.Format("2006-01-02T15:04:05Z"))
				if dir != "" {
					for name, img := range map[string][]byte{"selfie": r.Selfie, "portrait": r.Portrait} {
						if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d-%s", r.ID, name)), img, 0o600); err != nil {
							return err
						}
					}
				}
			}
			return nil
		}),
	}
	pending.Flags().StringVar(&dir, "dir", "", "directory to write images to (mode 0600)")
	var note string
	decide := func(use string, approve bool) *cobra.Command {
		c := &cobra.Command{
			Use: use + " ID", Short: use + " a pending selfie", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil {
					return usageError{fmt.Errorf("ID must be a number")}
				}
				a, closeStore, err := g.authority(cmd.Context(), true)
				if err != nil {
					return err
				}
				defer closeStore()
				return a.ReviewFace(cliContext(cmd), id, approve, note)
			},
		}
		c.Flags().StringVar(&note, "note", "", "why (kept with the session)")
		return changesState(c)
	}
	cmd.AddCommand(pending, decide("approve", true), decide("reject", false))
	return cmd
}
