package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// clientCmd manages the relying parties of a role (verifiers or
// institutions): add, list, set-rate, disable, enable, rotate-key. The API key is
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
			fmt.Fprintln(w, "NAME\tKIND\tKEY\tSTATE\tRATE\tADDED\tDISABLED")
			for _, c := range cs {
				state, disabled := "enabled", "-"
				if c.Disabled() {
					state, disabled = "disabled", c.DisabledAt.Format("2006-01-02")
				}
				rate := "default"
				if c.RateLimit > 0 {
					rate = strconv.FormatFloat(c.RateLimit, 'g', -1, 64) + "/s"
				}
				fmt.Fprintf(w, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", c.Name, c.Category, c.KeyPrefix, state, rate, c.CreatedAt.Format("2006-01-02"), disabled)
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
	var rate float64
	setRate := byName("set-rate", "Give a "+role+" its own rate limit in requests per second (0: the server's default)",
		func(cmd *cobra.Command, a *authority.Authority, name string) error {
			return a.SetClientRate(cliContext(cmd), role, name, rate)
		})
	setRate.Use = "set-rate --name NAME --rate N"
	setRate.Flags().Float64Var(&rate, "rate", 0, "requests per second; 0 returns to the server's per-client default (required)")
	markRequired(setRate, "rate")
	cmd.AddCommand(add, list, setRate,
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
