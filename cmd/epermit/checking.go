package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/verify"
)

// Helpers shared by the commands that make and check credentials the way
// holders, gates and institutions do (issue, present, verify, linkage).

// requiredFlags is the annotation markRequired keeps its flag names in.
const requiredFlags = "epermit:required"

// markRequired marks flags required. The root command checks them after
// the EPERMIT_* variables are applied (one may stand in for a flag), and a
// missing one is a usage error (exit 2).
func markRequired(cmd *cobra.Command, names ...string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[requiredFlags] = strings.Join(append(strings.Fields(cmd.Annotations[requiredFlags]), names...), " ")
}

// checkRequired refuses a command line that lacks a required flag.
func checkRequired(cmd *cobra.Command) error {
	var missing []string
	for _, n := range strings.Fields(cmd.Annotations[requiredFlags]) {
		if !cmd.Flags().Changed(n) {
			missing = append(missing, "--"+n)
		}
	}
	if missing != nil {
		return usageError{fmt.Errorf("required: %s", strings.Join(missing, ", "))}
	}
	return nil
}

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

// readHolderPrivateKey reads the holder's device private key (PEM PKCS#8),
// for commands that act as the holder's device.
func readHolderPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	priv, err := keys.ParsePrivateKey(pem)
	if err != nil {
		return nil, usageError{fmt.Errorf("--holder-key: %w", err)}
	}
	return priv, nil
}

// checkerFlags are how a checking command finds what it trusts: a JWK Set
// (a file, or the authority's over TLS), or a trust list signed by the
// authority's root (spec §1.2), from a file or a URL, checked under the
// root certificate the verifier is configured with.
type checkerFlags struct {
	trustFile, authorityURL string
	rootFile, trustList     string
	offline                 bool
}

func (f *checkerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.trustFile, "trust", "", "trust list (JWK Set) file")
	cmd.Flags().StringVar(&f.authorityURL, "authority", "", "authority base URL to fetch the trust list from")
	cmd.Flags().StringVar(&f.rootFile, "root", "", "the authority's root certificate (PEM or DER): accept only a trust list it signed (with --trust-list)")
	cmd.Flags().StringVar(&f.trustList, "trust-list", "", "signed trust list: a file, a URL, or the authority's base URL (with --root)")
	cmd.Flags().BoolVar(&f.offline, "offline", false, "do not fetch the status list (the result warns status_unknown)")
}

// sources loads the trust list as of now and, unless offline, a status
// list cache that fetches the list named in the credential: a list that
// cannot be had is a warning, never a rejection. A signed trust list that
// is refused is a *verify.TrustListError: the caller rejects with its code.
func (f *checkerFlags) sources(ctx context.Context, now time.Time) (*verify.TrustList, verify.StatusSource, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	var trust *verify.TrustList
	var err error
	signed := f.rootFile != "" || f.trustList != ""
	switch {
	case signed && (f.rootFile == "" || f.trustList == ""):
		return nil, nil, usageError{errors.New("--root and --trust-list go together")}
	case btoi(f.trustFile != "")+btoi(f.authorityURL != "")+btoi(signed) != 1:
		return nil, nil, usageError{errors.New("give exactly one of --trust FILE, --authority URL and --root CERT --trust-list FILE|URL")}
	case signed:
		root, err := verify.LoadRoot(f.rootFile)
		if err != nil {
			return nil, nil, usageError{err}
		}
		data, err := readTrustList(ctx, client, f.trustList)
		if err != nil {
			return nil, nil, err
		}
		if trust, err = verify.ParseSignedTrustList(data, root, nil, f.trustList, now); err != nil {
			return nil, nil, err
		}
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

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// readTrustList reads a signed trust list from a file or a URL; a URL with
// no path is the authority's base URL, which serves it at
// /.well-known/epermit-trust-list.
func readTrustList(ctx context.Context, client *http.Client, source string) ([]byte, error) {
	u, err := url.Parse(source)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		b, err := os.ReadFile(source)
		if err != nil {
			return nil, usageError{err}
		}
		if len(b) > pki.MaxTrustList {
			return nil, &verify.TrustListError{Code: verify.CodeTrustListFormat, Msg: source + " is larger than a trust list may be"}
		}
		return bytes.TrimSpace(b), nil
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/.well-known/epermit-trust-list"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, usageError{err}
	}
	req.Header.Set("Accept", pki.TrustListMediaType)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the trust list: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the trust list: %s from %s", resp.Status, u)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, pki.MaxTrustList+1))
	if err != nil {
		return nil, fmt.Errorf("fetching the trust list: %w", err)
	}
	if len(b) > pki.MaxTrustList {
		return nil, &verify.TrustListError{Code: verify.CodeTrustListFormat, Msg: u.String() + " sent more than a trust list may hold"}
	}
	return bytes.TrimSpace(b), nil
}

// refusedList turns a refused signed trust list into the code a checking
// command rejects with; ok is false for any other error.
func refusedList(err error) (verify.Code, string, bool) {
	var le *verify.TrustListError
	if !errors.As(err, &le) {
		return "", "", false
	}
	return le.Code, le.Code.Message(), true
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

// holderMaterial reads what every presentation command starts from: the
// credential in the --credential file, parsed by parse (which also returns
// its device key), and the holder's private key, which must be that device
// key; otherwise no verifier would accept the proof, and mismatch says so.
func holderMaterial[T any](credFile, holderKey string, parse func([]byte) (T, *ecdsa.PublicKey, error),
	mismatch string) (T, *ecdsa.PrivateKey, error) {
	var zero T
	b, err := os.ReadFile(credFile)
	if err != nil {
		return zero, nil, usageError{err}
	}
	cred, holder, err := parse(b)
	if err != nil {
		return zero, nil, usageError{fmt.Errorf("--credential %s: %w", credFile, err)}
	}
	priv, err := readHolderPrivateKey(holderKey)
	if err != nil {
		return zero, nil, err
	}
	if !priv.PublicKey.Equal(holder) {
		return zero, nil, errors.New(mismatch)
	}
	return cred, priv, nil
}
