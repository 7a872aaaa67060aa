package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// clientCmd manages the relying parties of a role (verifiers or
// institutions): add, list, disable, enable, rotate-key. The API key is
// printed once, on stdout alone, so it can be piped into a secret store.
func clientCmd(g *globals, role string, kinds []string) *cobra.Command {
	cmd := &cobra.Command{Use: role, Short: "Manage " + role + "s and their API keys"}
	withAuthority := func(run func(cmd *cobra.Command, a *authority.Authority) error) func(*cobra.Command, []string) error {
		return g.withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			err := run(cmd, a)
			describe(cmd.ErrOrStderr(), err)
			return err
		})
	}

	var name, kind string
	add := &cobra.Command{
		Use:   "add --name NAME --kind " + strings.Join(kinds, "|"),
		Short: "Register a " + role + " and print its API key (shown once)",
		Args:  cobra.NoArgs,
		RunE: withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			c, key, err := a.AddClient(cliContext(cmd), role, name, kind)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s %q registered; its API key follows and cannot be shown again\n", role, c.Name)
			fmt.Fprintln(cmd.OutOrStdout(), key)
			return nil
		}),
	}
	add.Flags().StringVar(&name, "name", "", "the "+role+"'s name (required)")
	add.Flags().StringVar(&kind, "kind", "", strings.Join(kinds, ", ")+" (required)")
	markRequired(add, "name", "kind")
	changesState(add)

	list := &cobra.Command{
		Use:   "list",
		Short: "List the " + role + "s",
		Args:  cobra.NoArgs,
		RunE: withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
			cs, err := a.Clients(cmd.Context(), role)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tKEY\tSTATE\tADDED\tDISABLED")
			for _, c := range cs {
				state, disabled := "enabled", "-"
				if c.Disabled() {
					state, disabled = "disabled", c.DisabledAt.Format("2006-01-02")
				}
				fmt.Fprintf(w, "%s\t%s\t%s…\t%s\t%s\t%s\n", c.Name, c.Category, c.KeyPrefix, state, c.CreatedAt.Format("2006-01-02"), disabled)
			}
			return w.Flush()
		}),
	}

	byName := func(use, short string, run func(cmd *cobra.Command, a *authority.Authority, name string) error) *cobra.Command {
		var name string
		c := &cobra.Command{
			Use:   use + " --name NAME",
			Short: short,
			Args:  cobra.NoArgs,
			RunE: withAuthority(func(cmd *cobra.Command, a *authority.Authority) error {
				return run(cmd, a, name)
			}),
		}
		c.Flags().StringVar(&name, "name", "", "the "+role+"'s name (required)")
		markRequired(c, "name")
		return changesState(c)
	}
	setDisabled := func(disabled bool) func(*cobra.Command, *authority.Authority, string) error {
		return func(cmd *cobra.Command, a *authority.Authority, name string) error {
			return a.SetClientDisabled(cliContext(cmd), role, name, disabled)
		}
	}
	cmd.AddCommand(add, list,
		byName("disable", "Disable a "+role+": its key stops working at once", setDisabled(true)),
		byName("enable", "Enable a disabled "+role+" again", setDisabled(false)),
		byName("rotate-key", "Give a "+role+" a new API key (printed once); the old one stops working",
			func(cmd *cobra.Command, a *authority.Authority, name string) error {
				key, err := a.RotateClientKey(cliContext(cmd), role, name)
				if err == nil {
					fmt.Fprintln(cmd.OutOrStdout(), key)
				}
				return err
			}))
	return cmd
}

func verifierCmd(g *globals) *cobra.Command {
	return clientCmd(g, permit.RoleVerifier, authority.ClientKinds(permit.RoleVerifier))
}

func officerCmd(g *globals) *cobra.Command {
	return clientCmd(g, permit.RoleOfficer, authority.ClientKinds(permit.RoleOfficer))
}
