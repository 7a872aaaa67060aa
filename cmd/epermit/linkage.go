package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
	"github.com/epermit/epermit/verify"
)

// institutionCmd manages the institutions (banks, telecoms, internet
// services, transport) that call the linkage check API.
func institutionCmd(g *globals) *cobra.Command {
	return clientCmd(g, permit.RoleInstitution, authority.ClientKinds(permit.RoleInstitution))
}

// linkageCmd groups the linkage proof tools: counter issuance, the holder's
// presentation, an institution's verification and the lookup of an
// institution's check by its reference.
func linkageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "linkage", Short: "Permit linkage proofs (SD-JWT VC): issue, present, verify, look up checks"}
	cmd.AddCommand(linkageIssueCmd(g), linkagePresentCmd(), linkageVerifyCmd(), linkageLookupCmd(g))
	return cmd
}

func linkageIssueCmd(g *globals) *cobra.Command {
	return counterCmd(g, counterIssue{
		use:     "issue --document-type hk|mo|tw --document-number N --holder-key PUB.pem [--out FILE]",
		short:   "Issue a linkage proof at the counter (same rules and audit as online)",
		outHelp: "write the SD-JWT to FILE instead of printing it",
		issue: func(ctx context.Context, a *authority.Authority, _ permit.Kind, t permit.DocumentType, number string,
			_ permit.Reason, holder *ecdsa.PublicKey) (*permit.Credential, error) {
			return a.IssueLinkageAtCounter(ctx, t, number, holder)
		},
		text: func(c *permit.Credential) string { return string(c.Token) },
		file: func(c *permit.Credential) []byte { return append(c.Token, '\n') },
		written: func(a *authority.Authority, c *permit.Credential, out string) string {
			id := hex.EncodeToString(c.ID)
			return fmt.Sprintf("linkage proof %s written to %s, valid until %s; printable result: %s/linkage/%s",
				id, out, c.ExpiresAt.In(permit.ChinaTime).Format("2006-01-02 15:04 MST"), a.Config().PublicURL, id)
		},
	})
}

func linkagePresentCmd() *cobra.Command {
	var credFile, holderKey, aud, nonce, disclose, at string
	cmd := &cobra.Command{
		Use:   "present --credential FILE --holder-key KEY.pem --aud A --nonce N --disclose CLAIM[,CLAIM…]",
		Short: "Build a linkage presentation (SD-JWT+KB) disclosing the named claims to one institution",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := parseAt(at)
			if err != nil {
				return err
			}
			sd, priv, err := holderMaterial(credFile, holderKey, func(b []byte) (string, *ecdsa.PublicKey, error) {
				sd := strings.TrimSpace(string(b))
				s, err := credential.ParseSDJWT(sd)
				if err != nil {
					return "", nil, err
				}
				return sd, s.Holder, nil
			}, "the holder key is not the linkage proof's device key (cnf): no institution would accept it")
			if err != nil {
				return err
			}
			claims := strings.Split(disclose, ",")
			for _, c := range claims {
				if !slices.Contains(credential.LinkageClaimNames, c) {
					return usageError{fmt.Errorf("--disclose: unknown claim %q (one of %s)", c, strings.Join(credential.LinkageClaimNames, ", "))}
				}
			}
			pres, err := credential.PresentLinkage(sd, claims, priv, aud, nonce, when)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), pres)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&credFile, "credential", "", "the linkage proof as issued (SD-JWT text file)")
	f.StringVar(&holderKey, "holder-key", "", "the holder's device private key, PKCS#8 PEM")
	f.StringVar(&aud, "aud", "", "the institution's id, as it gave it")
	f.StringVar(&nonce, "nonce", "", "the institution's challenge")
	f.StringVar(&disclose, "disclose", "", "claims to disclose, comma-separated: "+strings.Join(credential.LinkageClaimNames, ","))
	f.StringVar(&at, "at", "", "make the presentation as of this time (RFC 3339; default now)")
	markRequired(cmd, "credential", "holder-key", "aud", "nonce", "disclose")
	return usesFlags(cmd, "log")
}

// linkageVerifyCmd checks a linkage presentation as an institution would,
// with the verify library, and prints the result as JSON: exit 0 accepted,
// 1 rejected, 2 usage.
func linkageVerifyCmd() *cobra.Command {
	var aud, nonce, at, require string
	var cf checkerFlags
	cmd := &cobra.Command{
		Use:   "verify --aud A --nonce N (--trust FILE | --authority URL | --root CERT --trust-list FILE|URL) [--offline] [--require CLAIM,…] [--at RFC3339] (TEXT | FILE)",
		Short: "Verify a linkage presentation as an institution would; exit 0 accepted, 1 rejected",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := parseAt(at)
			if err != nil {
				return err
			}
			// TEXT, or a file holding it: presentations start with a JWT
			// ("eyJ"), which no sensible file name does.
			text := strings.TrimSpace(args[0])
			if !strings.HasPrefix(text, "eyJ") {
				b, err := os.ReadFile(args[0])
				if err != nil {
					return usageError{err}
				}
				text = strings.TrimSpace(string(b))
			}
			trust, status, err := cf.sources(cmd.Context(), now)
			if code, msg, ok := refusedList(err); ok {
				fmt.Fprintln(cmd.ErrOrStderr(), "epermit:", err)
				return printResult(cmd.OutOrStdout(), &verify.LinkageResult{Decision: verify.Reject, Code: code, Message: msg, At: now}, false)
			}
			if err != nil {
				return err
			}
			var required []string
			if require != "" {
				required = strings.Split(require, ",")
			}
			r := verify.VerifyLinkage(cmd.Context(), trust, status, text,
				verify.LinkagePolicy{Audience: aud, Nonce: nonce, Required: required}, now)
			return printResult(cmd.OutOrStdout(), r, r.Accepted())
		},
	}
	cf.register(cmd)
	f := cmd.Flags()
	f.StringVar(&aud, "aud", "", "this institution's id, which the presentation must be made for")
	f.StringVar(&nonce, "nonce", "", "the challenge this institution gave the holder")
	f.StringVar(&require, "require", "", "claims that must be disclosed, comma-separated")
	f.StringVar(&at, "at", "", "verify as of this time (RFC 3339; default now)")
	markRequired(cmd, "aud", "nonce")
	return usesFlags(cmd, "log")
}

func linkageLookupCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "lookup REFERENCE",
		Short: "Show an institution's linkage check by its reference (LC-…), from the audit log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, closeStore, err := g.authority(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer closeStore()
			rec, err := a.LinkageCheckByReference(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			return enc.Encode(rec)
		},
	}
}
