package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

func issueCmd(g *globals) *cobra.Command {
	return counterCmd(g, counterIssue{
		use:        "issue",
		short:      "Issue a temporary e-permit at the counter (same rules and audit as online)",
		withReason: true,
		outHelp:    "write the raw COSE bytes to FILE instead of printing base64url",
		issue: func(ctx context.Context, a *authority.Authority, kind permit.Kind, t permit.DocumentType, number string,
			reason permit.Reason, holder *ecdsa.PublicKey) (*permit.Credential, error) {
			return a.IssueKindAtCounter(ctx, kind, t, number, reason, holder)
		},
		text: func(c *permit.Credential) string { return base64.RawURLEncoding.EncodeToString(c.Token) },
		file: func(c *permit.Credential) []byte { return c.Token },
		written: func(_ *authority.Authority, c *permit.Credential, out string) string {
			return fmt.Sprintf("e-permit %s written to %s, valid until %s",
				hex.EncodeToString(c.ID), out, c.ExpiresAt.In(permit.ChinaTime).Format("2006-01-02 15:04 MST"))
		},
	})
}
