package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/audit"
	"github.com/epermit/epermit/internal/store"
)

func auditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit log"}
	var anchorText string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain; report the first changed, inserted or deleted event",
		Long: `verify reads the whole audit log and checks its hash chain and head, then
that every credential issued, revoked or suspended and every API client added,
rekeyed or disabled in the store has its event (a log shorter than the facts
was cut short). It prints what it checked and the head as an anchor
(SEQ:HASH); keep that outside the database and pass it back with --anchor next
time, so that a log cut short together with its head row is caught too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var anchor *audit.Anchor
			if anchorText != "" {
				var err error
				if anchor, err = audit.ParseAnchor(anchorText); err != nil {
					return usageError{err}
				}
			}
			a, closeStore, err := g.authority(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer closeStore()
			r, err := a.VerifyAuditFrom(cmd.Context(), anchor)
			var p *audit.Problem
			var m *audit.Missing
			switch {
			case errors.As(err, &p):
				fmt.Fprintf(cmd.OutOrStdout(), "BROKEN after %d good events: %v\n", r.Head.Seq, p)
				return exitError{exitFailure}
			case errors.As(err, &m):
				fmt.Fprintf(cmd.OutOrStdout(), "BROKEN: %d events, chain intact, but %v\nchecked: %s\n", r.Head.Seq, m, r.Facts)
				return exitError{exitFailure}
			case err != nil:
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ok: %d events, chain intact\nfacts: %s, each with its event\nanchor: %s\n",
				r.Head.Seq, r.Facts, r.Head)
			return nil
		},
	}
	verify.Flags().StringVar(&anchorText, "anchor", "", "SEQ:HASH printed by an earlier run")
	cmd.AddCommand(verify, auditListCmd(g))
	return cmd
}

func auditListCmd(g *globals) *cobra.Command {
	var f store.AuditFilter
	var since string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--subject S] [--action A] [--since TIME] [--limit N] [--json]",
		Short: "Print audit events, newest first",
		Long: `list prints audit events, newest first: who (actor), what (action), on what
(subject), when, and the event's details. --action takes an action
("credential.revoke") or, ending in a dot, every action under it
("credential."). --since takes an RFC 3339 time or a duration back from now
("24h"). --json prints one JSON object a line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if since != "" {
				if d, err := time.ParseDuration(since); err == nil && d > 0 {
					f.Since = time.Now().Add(-d)
				} else if t, err := time.Parse(time.RFC3339, since); err == nil {
					f.Since = t
				} else {
					return usageError{fmt.Errorf("--since %q: want an RFC 3339 time or a duration such as 24h", since)}
				}
			}
			if f.Limit < 1 || f.Limit > 100000 {
				return usageError{errors.New("--limit must be between 1 and 100000")}
			}
			a, closeStore, err := g.authority(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer closeStore()
			es, err := a.SearchAudit(cmd.Context(), f)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				for _, e := range es {
					if err := enc.Encode(auditLine{e.Seq, e.At, e.Actor, e.Action, e.Subject, e.Details}); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tAT\tACTOR\tACTION\tSUBJECT\tDETAILS")
			for _, e := range es {
				d := string(e.Details)
				if d == "" {
					d = "-"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format(time.RFC3339), e.Actor, e.Action, e.Subject, d)
			}
			return tw.Flush()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Subject, "subject", "", "only events about this subject (hk:H12345678, cti:…, kid:…)")
	fl.StringVar(&f.Action, "action", "", "only this action, or every action under it when it ends in a dot")
	fl.StringVar(&since, "since", "", "only events at or after this RFC 3339 time, or this long ago (24h)")
	fl.IntVar(&f.Limit, "limit", 200, "at most this many events")
	fl.BoolVar(&asJSON, "json", false, "one JSON object a line")
	return cmd
}

// auditLine is one event of `audit list --json`.
type auditLine struct {
	Seq     int64           `json:"seq"`
	At      time.Time       `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Subject string          `json:"subject"`
	Details json.RawMessage `json:"details,omitempty"`
}
