package main

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/keys"
)

// The root side of the root of trust (docs/keys.md): a directory on an
// offline machine, not the store. It holds the root key (a file under
// DIR/keys, or a PKCS#11 reference), DIR/root.pem, and DIR/root.json: the
// key's reference, the last trust list sequence number and a log of
// everything the root signed, with the officer who asked.

// rootState is DIR/root.json.
type rootState struct {
	Version int    `json:"version"`
	Key     string `json:"key"` // reference of the root key, as internal/keys reads it
	Kid     string `json:"kid"`
	Name    string `json:"name"`
	LastSeq uint64 `json:"last_seq"` // of the last trust list signed, under this root or the ones before
	// Cross is the cross certificate the previous root issued for this
	// one (standard base64 DER), carried in every list's x5c until gates
	// have moved (`root rollover`).
	Cross string     `json:"cross,omitempty"`
	Log   []rootWork `json:"log"`
}

// rootWork is one entry of the root's log.
type rootWork struct {
	At       int64  `json:"at"`
	Officer  string `json:"officer"`
	Action   string `json:"action"` // init, sign, sign-list, rollover, cross
	Serial   string `json:"serial,omitempty"`
	Subject  string `json:"subject,omitempty"`
	NotAfter int64  `json:"not_after,omitempty"`
	Seq      uint64 `json:"seq,omitempty"`
	Keys     int    `json:"keys,omitempty"`
}

// rootDir is an opened root directory, locked against a second command.
type rootDir struct {
	dir    string
	state  rootState
	cert   *pki.Certificate
	signer crypto.Signer
	ks     *keys.Store
}

const rootLock = "root.lock"

// lockRoot takes DIR/root.lock, so that two commands on one root cannot
// both sign a list with the same sequence number.
func lockRoot(dir string) (func(), error) {
	p := filepath.Join(dir, rootLock)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s exists: another root command is running (or one crashed: remove the file once sure)", p)
	}
	if err != nil {
		return nil, err
	}
	f.Close()
	return func() { os.Remove(p) }, nil
}

// openRoot reads the root in dir and opens its key.
func openRoot(dir string) (*rootDir, error) {
	data, err := os.ReadFile(filepath.Join(dir, "root.json"))
	if err != nil {
		return nil, fmt.Errorf("no root in %s (`epermit root init --dir %s`): %w", dir, dir, err)
	}
	r := &rootDir{dir: dir}
	if err := json.Unmarshal(data, &r.state); err != nil {
		return nil, fmt.Errorf("%s/root.json: %w", dir, err)
	}
	pemData, err := os.ReadFile(filepath.Join(dir, "root.pem"))
	if err != nil {
		return nil, err
	}
	der, err := pki.DecodePEM(pemData, pki.PEMCertificate)
	if err != nil {
		return nil, err
	}
	if r.cert, err = pki.ParseCertificate(der); err != nil {
		return nil, err
	}
	r.ks = &keys.Store{Dir: dir}
	if r.signer, err = r.ks.Signer(r.state.Key); err != nil {
		return nil, fmt.Errorf("the root key does not open: %w", err)
	}
	return r, nil
}

// lockedRoot locks the root in dir and opens it; release closes the key
// store and removes the lock.
func lockedRoot(dir string) (r *rootDir, release func(), err error) {
	unlock, err := lockRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	if r, err = openRoot(dir); err != nil {
		unlock()
		return nil, nil, err
	}
	return r, func() { r.close(); unlock() }, nil
}

// save writes root.json atomically.
func (r *rootDir) save() error {
	data, err := json.MarshalIndent(r.state, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(r.dir, "root.json"), append(data, '\n'), 0o600)
}

func (r *rootDir) close() {
	if r.ks != nil {
		r.ks.Close()
	}
}

// writeFileAtomic writes data to path through a temporary file renamed
// over it, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeOut writes data to the file out, or to w when out is "" or "-".
func writeOut(w io.Writer, out string, data []byte) error {
	if out == "" || out == "-" {
		_, err := w.Write(data)
		return err
	}
	return os.WriteFile(out, data, 0o644)
}

// dayDuration is a duration flag that also takes whole days: "30d".
type dayDuration struct{ d *time.Duration }

func (v dayDuration) String() string {
	if v.d == nil {
		return ""
	}
	if *v.d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(*v.d/(24*time.Hour)), 10) + "d"
	}
	return v.d.String()
}

func (v dayDuration) Set(s string) error {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return fmt.Errorf("%q: want whole days like 30d, or a duration like 720h", s)
		}
		*v.d = time.Duration(days) * 24 * time.Hour
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q: want whole days like 30d, or a duration like 720h", s)
	}
	*v.d = d
	return nil
}

func (v dayDuration) Type() string { return "duration" }

func daysFlag(cmd *cobra.Command, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	cmd.Flags().Var(dayDuration{p}, name, usage)
}

// fingerprint is the SHA-256 of a certificate's DER, as gates compare it.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// officerName is the officer a root command records in the root's log.
func officerName(cmd *cobra.Command) string {
	name, _ := officerActor(cmd, cmd.Flag("officer").Value.String())
	return name
}

func rootCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "root", Short: "The offline root of trust: certify issuer keys, sign trust lists (docs/keys.md)"}
	cmd.AddCommand(usesFlags(rootInitCmd(), "log,officer"), usesFlags(rootExportCmd(), "log"),
		usesFlags(rootSignCmd(), "log,officer"), usesFlags(rootSignListCmd(), "log,officer"), usesFlags(rootRolloverCmd(), "log,officer"))
	return cmd
}

// newRootIn makes a root key and self-signed certificate in dir, which
// must not hold a root yet.
func newRootIn(officer, dir, kms, algorithm, name string, years int) (*rootDir, error) {
	alg, err := keys.ParseAlgorithm(algorithm)
	if err != nil {
		return nil, usageError{err}
	}
	if err := keys.CheckKMS(kms); err != nil {
		return nil, usageError{err}
	}
	if err := keys.CheckAlgorithm(kms, alg); err != nil {
		return nil, usageError{err}
	}
	if err := keys.Supported(kms); err != nil {
		return nil, err
	}
	if name == "" || years < 1 || years > 100 {
		return nil, usageError{errors.New("a root needs --name and --years from 1 to 100")}
	}
	if _, err := os.Stat(filepath.Join(dir, "root.json")); err == nil {
		return nil, fmt.Errorf("%s holds a root already", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	unlock, err := lockRoot(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ks := &keys.Store{Dir: dir, KMS: kms}
	made := false
	defer func() {
		if !made {
			ks.Close()
		}
	}()
	ref, _, err := ks.Generate(alg)
	if err != nil {
		return nil, err
	}
	signer, err := ks.Signer(ref)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	der, err := pki.NewRoot(signer, name, now, now.AddDate(years, 0, 0))
	if err != nil {
		return nil, err
	}
	cert, err := pki.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	r := &rootDir{dir: dir, cert: cert, signer: signer, ks: ks,
		state: rootState{Version: 1, Key: ref, Kid: cert.KeyID, Name: name, Log: []rootWork{}}}
	r.state.Log = append(r.state.Log, rootWork{At: now.Unix(), Officer: officer, Action: "init",
		Serial: cert.Serial.Text(16), Subject: cert.Subject, NotAfter: cert.NotAfter.Unix()})
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), pki.EncodePEM(pki.PEMCertificate, der), 0o644); err != nil {
		return nil, err
	}
	if err := r.save(); err != nil {
		return nil, err
	}
	made = true
	return r, nil
}

// certify issues the DS certificate for a checked request, valid for
// validity past its usage period, and logs it.
func (r *rootDir) certify(csr *pki.CSR, validity time.Duration, officer string) ([]byte, *pki.Certificate, error) {
	cert, err := pki.IssueDocumentSigner(r.cert, r.signer, csr, csr.UsageNotAfter.Add(validity))
	if err != nil {
		return nil, nil, err
	}
	ds, err := pki.ParseCertificate(cert)
	if err != nil {
		return nil, nil, err
	}
	r.state.Log = append(r.state.Log, rootWork{At: time.Now().Unix(), Officer: officer, Action: "sign",
		Serial: ds.Serial.Text(16), Subject: ds.Subject, NotAfter: ds.NotAfter.Unix()})
	return cert, ds, r.save()
}

// listClaims reads a trust list request into the claims the root signs.
func listClaims(req *authority.TrustListRequest) (*pki.TrustListClaims, error) {
	claims := &pki.TrustListClaims{Issuer: req.Issuer}
	for _, c := range req.Certificates {
		der, err := base64.StdEncoding.DecodeString(c)
		if err != nil {
			return nil, fmt.Errorf("the request: a certificate is not base64: %w", err)
		}
		claims.Certificates = append(claims.Certificates, der)
	}
	for _, rv := range req.Revoked {
		claims.Revoked = append(claims.Revoked, pki.RevokedKey{Kid: rv.Kid, RevokedAt: time.Unix(rv.RevokedAt, 0).UTC()})
	}
	return claims, nil
}

// signList signs claims as the next list (seq = the last + 1), valid for
// next, with the cross certificate after a rollover, and logs it. Signing
// checks that this root issued every certificate.
func (r *rootDir) signList(claims *pki.TrustListClaims, next time.Duration, officer string) (string, error) {
	var cross []byte
	if r.state.Cross != "" {
		var err error
		if cross, err = base64.StdEncoding.DecodeString(r.state.Cross); err != nil {
			return "", err
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	claims.Seq, claims.IssuedAt, claims.Expiry = r.state.LastSeq+1, now, now.Add(next)
	list, err := pki.SignTrustList(*claims, r.cert, r.signer, cross)
	if err != nil {
		return "", err
	}
	r.state.LastSeq = claims.Seq
	r.state.Log = append(r.state.Log, rootWork{At: now.Unix(), Officer: officer, Action: "sign-list",
		Seq: claims.Seq, Keys: len(claims.Certificates), NotAfter: claims.Expiry.Unix()})
	return list, r.save()
}

func rootInitCmd() *cobra.Command {
	var dir, kms, algorithm, name string
	var years int
	cmd := &cobra.Command{
		Use:   "init --dir DIR --name NAME",
		Short: "Make the root key and its self-signed certificate (on the offline machine)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := newRootIn(officerName(cmd), dir, kms, algorithm, name, years)
			if err != nil {
				return err
			}
			defer r.close()
			fmt.Fprintf(cmd.OutOrStdout(), "root %s (%s) in %s, valid until %s\nSHA-256 fingerprint %s\n",
				r.cert.KeyID, r.cert.Subject, dir, r.cert.NotAfter.Format(time.RFC3339), fingerprint(r.cert.Raw))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the root's directory (required; keep it offline)")
	cmd.Flags().StringVar(&name, "name", "", "the root's common name, e.g. \"CN-NIA epermit root 2026\" (required)")
	cmd.Flags().StringVar(&kms, "kms", "", "where to make the key: file: (DIR/keys) or a pkcs11: URI")
	cmd.Flags().StringVar(&algorithm, "algorithm", "es256", "es256 or sm2 (SM2 with SM3)")
	cmd.Flags().IntVar(&years, "years", 20, "validity of the root certificate in years")
	markRequired(cmd, "dir", "name")
	return changesState(cmd)
}

func rootExportCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "export --dir DIR",
		Short: "Print the root certificate (PEM) that gates are configured with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(filepath.Join(dir, "root.pem"))
			if err != nil {
				return err
			}
			der, err := pki.DecodePEM(data, pki.PEMCertificate)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "SHA-256 fingerprint %s\n", fingerprint(der))
			_, err = cmd.OutOrStdout().Write(pki.EncodePEM(pki.PEMCertificate, der))
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the root's directory (required)")
	markRequired(cmd, "dir")
	return cmd
}

func rootSignCmd() *cobra.Command {
	var dir, csrFile, out string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "sign --dir DIR --csr FILE",
		Short: "Certify an issuer key: a document-signer certificate from its request (`epermit keys csr`)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(csrFile)
			if err != nil {
				return err
			}
			der, err := pki.DecodePEM(data, pki.PEMRequest)
			if err != nil {
				return err
			}
			csr, err := pki.ParseCSR(der)
			if err != nil {
				return err
			}
			r, release, err := lockedRoot(dir)
			if err != nil {
				return err
			}
			defer release()
			cert, ds, err := r.certify(csr, validity, officerName(cmd))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "certified key %s: signs %s to %s, certificate valid until %s\n", ds.KeyID,
				ds.UsageNotBefore.Format(time.RFC3339), ds.UsageNotAfter.Format(time.RFC3339), ds.NotAfter.Format(time.RFC3339))
			return writeOut(cmd.OutOrStdout(), out, pki.EncodePEM(pki.PEMCertificate, cert))
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the root's directory (required)")
	cmd.Flags().StringVar(&csrFile, "csr", "", "the key's certificate request, PEM or DER (required)")
	cmd.Flags().StringVar(&out, "out", "", "write the certificate (PEM) here (default standard output)")
	daysFlag(cmd, &validity, "document-validity", authority.LinkageValidity,
		"how long past its signing period the certificate stays valid: the longest credential the key may sign")
	markRequired(cmd, "dir", "csr")
	return changesState(cmd)
}

func rootSignListCmd() *cobra.Command {
	var dir, request, out string
	var next time.Duration
	var withoutCross bool
	cmd := &cobra.Command{
		Use:   "sign-list --dir DIR --request FILE",
		Short: "Sign the trust list (`epermit trust-list request`) with the next sequence number",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(request)
			if err != nil {
				return err
			}
			req, err := authority.ParseTrustListRequest(data)
			if err != nil {
				return err
			}
			claims, err := listClaims(req)
			if err != nil {
				return err
			}
			r, release, err := lockedRoot(dir)
			if err != nil {
				return err
			}
			defer release()
			if withoutCross {
				r.state.Cross = "" // gates have moved to this root
			}
			list, err := r.signList(claims, next, officerName(cmd))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "trust list %d: %d keys, %d revoked, next update due before %s\n", claims.Seq,
				len(claims.Certificates), len(claims.Revoked), claims.Expiry.Format(time.RFC3339))
			return writeOut(cmd.OutOrStdout(), out, []byte(list+"\n"))
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the root's directory (required)")
	cmd.Flags().StringVar(&request, "request", "", "the request from `epermit trust-list request` (required)")
	cmd.Flags().StringVar(&out, "out", "", "write the signed list here (default standard output)")
	daysFlag(cmd, &next, "next-update", 30*24*time.Hour, "the list's exp: gates refuse it after this, so sign the next one before")
	cmd.Flags().BoolVar(&withoutCross, "without-cross", false, "after a rollover, once every gate holds a list of the new root: stop carrying the cross certificate (for good)")
	markRequired(cmd, "dir", "request")
	return changesState(cmd)
}

func rootRolloverCmd() *cobra.Command {
	var dir, newDir, kms, algorithm, name string
	var years int
	cmd := &cobra.Command{
		Use:   "rollover --dir OLD --new NEWDIR --name NAME",
		Short: "Make a new root, cross-certified by the old one; its lists carry the cross certificate",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			old, release, err := lockedRoot(dir)
			if err != nil {
				return err
			}
			defer release()
			nr, err := newRootIn(officerName(cmd), newDir, kms, algorithm, name, years)
			if err != nil {
				return err
			}
			defer nr.close()
			cross, err := pki.NewCrossCertificate(old.cert, old.signer, nr.cert, old.cert.NotAfter)
			if err != nil {
				return err
			}
			now := time.Now().Unix()
			// The new root carries on the sequence: gates refuse a lower one.
			nr.state.LastSeq, nr.state.Cross = old.state.LastSeq, base64.StdEncoding.EncodeToString(cross)
			nr.state.Log = append(nr.state.Log, rootWork{At: now, Officer: officerName(cmd), Action: "cross", Subject: old.cert.Subject})
			if err := nr.save(); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(newDir, "cross.pem"), pki.EncodePEM(pki.PEMCertificate, cross), 0o644); err != nil {
				return err
			}
			old.state.Log = append(old.state.Log, rootWork{At: now, Officer: officerName(cmd), Action: "rollover",
				Subject: nr.cert.Subject, NotAfter: old.cert.NotAfter.Unix()})
			if err := old.save(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "new root %s in %s, cross-certified by %s\nSHA-256 fingerprint %s\n",
				nr.cert.KeyID, newDir, old.cert.KeyID, fingerprint(nr.cert.Raw))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the old root's directory (required)")
	cmd.Flags().StringVar(&newDir, "new", "", "the new root's directory (required)")
	cmd.Flags().StringVar(&name, "name", "", "the new root's common name (required)")
	cmd.Flags().StringVar(&kms, "kms", "", "where to make the new key: file: (NEWDIR/keys) or a pkcs11: URI")
	cmd.Flags().StringVar(&algorithm, "algorithm", "es256", "es256 or sm2 (SM2 with SM3)")
	cmd.Flags().IntVar(&years, "years", 20, "validity of the new root certificate in years")
	markRequired(cmd, "dir", "new", "name")
	return changesState(cmd)
}
