package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/epermit/epermit/credential/pki"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/notify"
	"github.com/epermit/epermit/internal/registry"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// demoPeople is how many fictional people `epermit demo` puts in an empty
// registry.
const demoPeople = 1200

func demoCmd(g *globals) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve on the embedded store with a generated key and a fictional registry",
		Long: `demo runs the server on the embedded SQLite store under --data. On first
run it creates an issuer key and fills the registry with a deterministic,
fictional population of Hong Kong, Macau and Taiwan residents. It prints the
URLs to visit and a few identities to try.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.HasPrefix(g.db, "postgres") {
				return usageError{fmt.Errorf("demo runs on the embedded SQLite store; use `epermit serve` for PostgreSQL")}
			}
			ctx := authority.WithActor(cmd.Context(), "demo")
			// The demo proves identities without a phone or a face provider:
			// codes go to the outbox page and every face is accepted.
			g.demo, g.faceMode, g.outbox = true, authority.FaceDemo, &notify.Outbox{Log: g.log}
			g.mayCreate = true
			// Listen first: unless --public-url says otherwise, the public
			// URL is where the demo listens, so that credentials point at
			// its status lists and browsers' POSTs pass the Origin check.
			ln, err := net.Listen("tcp", f.addr)
			if err != nil {
				return err
			}
			defer ln.Close()
			f.ln = ln
			// The demo records its URLs in the store (as init does), so that
			// other commands on its data, `epermit issue` at the counter
			// say, write the same status list base into credentials.
			if !cmd.Flags().Changed("public-url") {
				if err := cmd.Flags().Set("public-url", listenURL(ln.Addr())); err != nil {
					return err
				}
			}
			if !cmd.Flags().Changed("status-url") {
				if err := cmd.Flags().Set("status-url", g.publicURL); err != nil {
					return err
				}
			}
			g.recordSettings = true
			a, closeStore, err := g.authority(ctx, true)
			if err != nil {
				return err
			}
			defer closeStore()
			if _, err := a.RecordSettings(ctx, store.SettingPublicURL, store.SettingStatusURL, store.SettingIssuerID); err != nil {
				return err
			}
			samples, err := seedDemo(ctx, a)
			if err != nil {
				return err
			}
			if err := demoRoot(ctx, a, g.data); err != nil {
				return fmt.Errorf("the demo root of trust: %w", err)
			}
			clients, err := demoClients(ctx, a)
			if err != nil {
				return err
			}
			return serve(ctx, g, a, &f, func(string) {
				printDemo(cmd.OutOrStdout(), g, a.Config().PublicURL, samples, clients)
			})
		},
	}
	f.register(cmd, "127.0.0.1:8080")
	usesFlags(cmd, "store,log,issuing,server")
	return cmd
}

// seedDemo creates what an empty demo store lacks: an issuer key and the
// fictional registry. It returns the sample identities to show.
func seedDemo(ctx context.Context, a *authority.Authority) ([]permit.Record, error) {
	keys, err := a.Keys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		if _, err := a.InitKeys(ctx); err != nil {
			return nil, err
		}
	}
	people := demo.Registry(demoPeople)
	n, err := a.RegistrySize(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		var buf bytes.Buffer
		enc := registry.NewEncoder(&buf)
		for i := range people {
			if err := enc.Encode(&people[i]); err != nil {
				return nil, err
			}
		}
		if err := enc.Flush(); err != nil {
			return nil, err
		}
		if _, err := a.ImportRegistry(ctx, &buf, "demo"); err != nil {
			return nil, err
		}
	}
	return demo.Samples(people, permit.Today(time.Now())), nil
}

// demoClient is an API client the demo registers so that every page and
// API can be tried at once.
type demoClient struct{ role, name, kind, key string }

// demoClients registers a gate, a bank and an officer, or gives those of an
// earlier run new keys (keys are never stored, so they cannot be shown
// again).
func demoClients(ctx context.Context, a *authority.Authority) ([]demoClient, error) {
	cs := []demoClient{
		{role: permit.RoleVerifier, name: "Demo gate", kind: "railway"},
		{role: permit.RoleInstitution, name: "Demo bank", kind: "bank"},
		// An admin, so the demo shows the whole officer console.
		{role: permit.RoleOfficer, name: "Demo officer", kind: "admin"},
	}
	for i := range cs {
		c := &cs[i]
		_, key, err := a.AddClient(ctx, c.role, c.name, c.kind)
		if permit.ErrorCode(err) == permit.ECodeConflict {
			key, err = a.RotateClientKey(ctx, c.role, c.name)
		}
		if err != nil {
			return nil, err
		}
		c.key = key
	}
	return cs, nil
}

// listenURL is the http URL of a listening address; an unspecified host
// (all interfaces) is reached at the loopback address.
func listenURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func printDemo(w io.Writer, g *globals, base string, samples []permit.Record, clients []demoClient) {
	fmt.Fprintf(w, `
epermit demo is running. Everything here is fictional.

  apply        %[1]s/apply     (applicant pages; any photo passes the face check)
  wallet       %[1]s/wallet
  gate         %[1]s/gate      (sign in with the Demo gate key below)
  officers     %[1]s/officer/  (console: sign in as "Demo officer" with its key below)
  health       %[1]s/healthz
  readiness    %[1]s/readyz
  trust list   %[1]s/.well-known/jwks.json
  signed list  %[1]s/.well-known/epermit-trust-list  (signed by the DEMO root in %[2]s/demo-root)
  root         %[1]s/.well-known/epermit-root.pem
  metrics      %[1]s/metrics
  SMS outbox   %[1]s/demo/outbox   (one-time codes land here)

  data         %[2]s (try: epermit registry export --data %[2]s | head -1)

Sample identities (document type, number, name, birth date):
`, base, g.data)
	for _, r := range samples {
		tp := r.TravelPermits[0]
		name := r.Person.Name
		if name == "" {
			name = r.Person.LatinName
		}
		fmt.Fprintf(w, "  %-3s %-11s %-14s %s  %-12s expires %s\n", tp.Type, tp.Number, name, r.Person.BirthDate, tp.Status, tp.ExpiresOn)
	}
	fmt.Fprintln(w, "\nAPI keys for this run (Authorization: Bearer KEY; see docs/api.md):")
	for _, c := range clients {
		fmt.Fprintf(w, "  %-12s %-13s %s\n", c.role, c.name, c.key)
	}
	fmt.Fprintln(w, "\nStop with Ctrl-C.")
}

// demoRenew is how early the demo renews its key's certificate and its
// signed trust list: every start within this of their end.
const demoRenew = 7 * 24 * time.Hour

// demoRoot plays the offline root for the demo, so that `epermit demo`
// shows the whole root of trust (docs/keys.md): a root in DATA/demo-root
// (demo only: its key sits beside the server's), the active key certified
// by it and a signed trust list imported. A data directory from before
// (no root) gets one on its next start; later starts renew what is due.
func demoRoot(ctx context.Context, a *authority.Authority, data string) error {
	dir := filepath.Join(data, "demo-root")
	var r *rootDir
	var err error
	if _, statErr := os.Stat(filepath.Join(dir, "root.json")); statErr == nil {
		r, err = openRoot(dir)
	} else {
		r, err = newRootIn("demo", dir, "", "es256", "epermit DEMO root - not for production", 20)
	}
	if err != nil {
		return err
	}
	defer r.close()
	unlock, err := lockRoot(dir)
	if err != nil {
		return err
	}
	defer unlock()
	ks, err := a.Keys(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, k := range ks {
		if k.State != permit.KeyActive || (k.Certificate != nil && now.Add(demoRenew).Before(k.UsageNotAfter)) {
			continue
		}
		csrDER, err := a.KeyCSR(ctx, k.Kid, authority.DefaultSigningPeriod)
		if err != nil {
			return err
		}
		csr, err := pki.ParseCSR(csrDER)
		if err != nil {
			return err
		}
		cert, _, err := r.certify(csr, a.LongestCredential(), "demo")
		if err != nil {
			return err
		}
		if _, err := a.CertifyKey(ctx, k.Kid, cert, r.cert.Raw, nil); err != nil {
			return err
		}
	}
	req, err := a.RequestTrustList(ctx)
	if err != nil {
		return err
	}
	if l, err := a.SignedTrustList(ctx); err == nil && now.Add(demoRenew).Before(l.ExpiresAt) && listsAll(l.Document, req) {
		return nil
	} else if err != nil && permit.ErrorCode(err) != permit.ECodeNotFound {
		return err
	}
	claims, err := listClaims(req)
	if err != nil {
		return err
	}
	list, err := r.signList(claims, 30*24*time.Hour, "demo")
	if err != nil {
		return err
	}
	_, _, err = a.ImportTrustList(ctx, []byte(list), nil)
	return err
}

// listsAll reports whether the signed list doc holds every certificate and
// revoked key of req.
func listsAll(doc string, req *authority.TrustListRequest) bool {
	l, err := pki.ParseTrustList([]byte(doc))
	if err != nil {
		return false
	}
	certs := map[string]bool{}
	for _, k := range l.Keys {
		certs[base64.StdEncoding.EncodeToString(k.Certificate.Raw)] = true
	}
	revoked := map[string]bool{}
	for _, rv := range l.Revoked {
		revoked[rv.Kid] = true
	}
	for _, c := range req.Certificates {
		if !certs[c] {
			return false
		}
	}
	for _, rv := range req.Revoked {
		if !revoked[rv.Kid] {
			return false
		}
	}
	return true
}
