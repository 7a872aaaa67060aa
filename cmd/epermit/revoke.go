package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/permit"
)

// revokeCmd is the officer's revocation, until the officer pages exist: one
// e-permit by its cti, or every current e-permit of a travel permit.
func revokeCmd(g *globals) *cobra.Command {
	var ctiHex, docType, number, reason string
	cmd := &cobra.Command{
		Use:   "revoke (--cti HEX | --document-type hk|mo|tw --document-number N) --reason TEXT",
		Short: "Revoke an e-permit, or every current e-permit of a travel permit, for good",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			byDoc := docType != "" || number != ""
			if (ctiHex != "") == byDoc || (byDoc && (docType == "" || number == "")) {
				return usageError{errors.New("give either --cti, or --document-type and --document-number")}
			}
			var cti []byte
			var t permit.DocumentType
			var err error
			if ctiHex != "" {
				if cti, err = parseCTI(ctiHex); err != nil {
					return err
				}
			} else if t, err = permit.ParseDocumentType(docType); err != nil {
				return usageError{err}
			}
			a, closeStore, err := g.authority(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeStore()
			var cs []permit.Credential
			if cti != nil {
				var c *permit.Credential
				if c, err = a.Revoke(cliContext(cmd), cti, reason); err == nil {
					cs = append(cs, *c)
				}
			} else {
				cs, err = a.RevokeDocument(cliContext(cmd), t, number, reason)
			}
			if err != nil {
				describe(cmd.ErrOrStderr(), err)
				return err
			}
			for _, c := range cs {
				printState(cmd.OutOrStdout(), "revoked", &c)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&ctiHex, "cti", "", "the e-permit's id (cti), 32 hex digits")
	f.StringVar(&docType, "document-type", "", "hk, mo or tw: revoke every current e-permit of this travel permit")
	f.StringVar(&number, "document-number", "", "the travel permit number as printed")
	f.StringVar(&reason, "reason", "", "why (required; kept with the e-permit and in the audit log)")
	cmd.MarkFlagRequired("reason")
	return changesState(cmd)
}

// parseCTI reads a credential id given on the command line.
func parseCTI(s string) ([]byte, error) {
	cti, err := hex.DecodeString(s)
	if err != nil || len(cti) != 16 {
		return nil, usageError{fmt.Errorf("--cti must be 32 hex digits (16 bytes)")}
	}
	return cti, nil
}

// printState prints one changed e-permit: what happened, its id and its
// status list entry.
func printState(w io.Writer, what string, c *permit.Credential) {
	fmt.Fprintf(w, "%s %s (status list %d, index %d)\n", what, hex.EncodeToString(c.ID), c.StatusList, c.StatusIndex)
}
