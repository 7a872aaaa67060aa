package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/verify"
)

// Helpers shared by the commands that make and check credentials the way
// holders, gates and institutions do (issue, present, verify, linkage).

// parseAt reads an --at time; empty means now.
func parseAt(at string) (time.Time, error) {
	if at == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--at: %w", err)}
	}
	return t, nil
}

// readHolderKey reads a holder's device public key (PEM) given at the
// counter.
func readHolderKey(path string) (*ecdsa.PublicKey, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	pub, err := keys.ParsePublicKey(pem)
	if err != nil {
		return nil, usageError{fmt.Errorf("--holder-key: %w", err)}
	}
	return pub, nil
}

// checkerFlags are how a checking command finds what it trusts.
type checkerFlags struct {
	trustFile, authorityURL string
	offline                 bool
}

func (f *checkerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.trustFile, "trust", "", "trust list (JWK Set) file")
	cmd.Flags().StringVar(&f.authorityURL, "authority", "", "authority base URL to fetch the trust list from")
	cmd.Flags().BoolVar(&f.offline, "offline", false, "do not fetch the status list (the result warns status_unknown)")
}

// sources loads the trust list and, unless offline, a status list cache
// that fetches the list named in the credential: a list that cannot be had
// is a warning, never a rejection.
func (f *checkerFlags) sources(ctx context.Context) (*verify.TrustList, verify.StatusSource, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	var trust *verify.TrustList
	var err error
	switch {
	case (f.trustFile == "") == (f.authorityURL == ""):
		return nil, nil, usageError{errors.New("give exactly one of --trust FILE and --authority URL")}
	case f.trustFile != "":
		if trust, err = verify.LoadTrustList(f.trustFile); err != nil {
			return nil, nil, usageError{err}
		}
	default:
		if trust, err = verify.FetchTrustList(ctx, client, f.authorityURL); err != nil {
			return nil, nil, err
		}
	}
	if f.offline {
		return trust, nil, nil
	}
	return trust, verify.NewStatusCache(trust, verify.StatusCacheOptions{Client: client}), nil
}

// printResult prints a verification result as JSON; a rejection makes the
// command exit 1 after printing.
func printResult(w io.Writer, r any, accepted bool) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return err
	}
	if !accepted {
		return exitError{exitFailure}
	}
	return nil
}
