package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/registry"
)

func registryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "Import and export the registry of people and permits"}
	cmd.AddCommand(changesState(&cobra.Command{
		Use:   "import FILE",
		Short: "Import a registry file (JSON Lines, docs/registry.md); all or nothing",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer file.Close()
			a, closeStore, err := g.authority(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeStore()
			rep, err := a.ImportRegistry(cliContext(cmd), file, args[0])
			var re *registry.Error
			if errors.As(err, &re) {
				for _, p := range re.Problems {
					fmt.Fprintln(cmd.ErrOrStderr(), p)
				}
				return fmt.Errorf("%d problem(s) in %s; nothing was imported", len(re.Problems), args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d records: %d created, %d updated, %d unchanged\n",
				rep.Records, rep.Created, rep.Updated, rep.Unchanged)
			return nil
		},
	}))
	var out string
	export := &cobra.Command{
		Use:   "export",
		Short: "Export the registry in the import format",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, closeStore, err := g.authority(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer closeStore()
			w := cmd.OutOrStdout()
			var file *os.File
			if out != "" {
				// Personal data: readable by the owner only.
				if file, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
					return err
				}
				w = file
			}
			n, err := a.ExportRegistry(cmd.Context(), w)
			if file != nil {
				err = errors.Join(err, file.Close())
			}
			if err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d records written to %s\n", n, out)
			}
			return nil
		},
	}
	export.Flags().StringVar(&out, "out", "", "write to FILE (mode 0600) instead of standard output")
	cmd.AddCommand(export)
	return cmd
}
