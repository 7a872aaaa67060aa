package load

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/demo"
	"github.com/epermit/epermit/internal/registry"
	"github.com/epermit/epermit/permit"
)

// Authority is what preparing a run and checking it afterwards ask of the
// authority, over the same database the servers under test use.
type Authority interface {
	Keys(ctx context.Context) ([]permit.IssuerKey, error)
	InitKeys(ctx context.Context) (*permit.IssuerKey, error)
	RegistrySize(ctx context.Context) (int64, error)
	ImportRegistry(ctx context.Context, r io.Reader, source string) (*authority.ImportReport, error)
	AddClient(ctx context.Context, role, name, category string) (*permit.Client, string, error)
	SetClientRate(ctx context.Context, role, name string, rate float64) error
	IssueAtCounter(ctx context.Context, t permit.DocumentType, number string, reason permit.Reason, holder *ecdsa.PublicKey) (*permit.Credential, error)
	Credential(ctx context.Context, cti []byte) (*permit.Credential, error)
}

// Setup says what a run needs prepared.
type Setup struct {
	// People is the size of the fictional registry to seed: the linkage
	// checks ask about its people and each issuance takes one of its own.
	People int
	// Presentations is how many distinct presentations online
	// verification may need (a verifier refuses one it has seen).
	Presentations int
	// ClientRate is the rate limit, in requests per second, of the
	// verifier, institution and officer the run registers, raised with
	// SetClientRate so that the limits are not what is measured.
	ClientRate float64
}

// proofIats is how many proof times (whole seconds, the last proofIats
// seconds before a run) one credential's presentations use: each
// (credential, iat) pair is a distinct presentation, and all stay inside
// verify.DefaultProofWindow (60 s) for a run of up to 60 − proofIats s.
const proofIats = 40

// Fixture is what Prepare made: the clients' keys, the credentials to
// present, the people to check and to issue to.
type Fixture struct {
	VerifierKey, InstitutionKey, OfficerKey string
	StatusList                              int64 // a list the run's credentials are on

	holder    *ecdsa.PrivateKey
	holderJWK credential.JWK
	presented [][]byte        // credentials to present, each a COSE_Sign1
	linked    []permit.Record // people with a residence permit, for linkage checks
	toIssue   []permit.TravelPermit
}

// Prepare readies a run on an empty database: an issuer key if there is
// none, a fictional registry (internal/demo) of s.People, a verifier, an
// institution and an officer with their rates raised to s.ClientRate, and
// e-permits for the presentations. It refuses a database whose registry is
// not empty, so it never issues to real people.
func Prepare(ctx context.Context, a Authority, s Setup) (*Fixture, error) {
	ctx = authority.WithActor(ctx, "load")
	n, err := a.RegistrySize(ctx)
	if err != nil {
		return nil, err
	}
	if n != 0 {
		return nil, fmt.Errorf("load: the registry holds %d people; a load run seeds a fictional registry and issues to it, so it needs an empty database", n)
	}
	if ks, err := a.Keys(ctx); err != nil {
		return nil, err
	} else if len(ks) == 0 {
		if _, err := a.InitKeys(ctx); err != nil {
			return nil, err
		}
	}
	recs := demo.Registry(s.People)
	var buf bytes.Buffer
	enc := registry.NewEncoder(&buf)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return nil, err
		}
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	if _, err := a.ImportRegistry(ctx, &buf, "load"); err != nil {
		return nil, err
	}

	f := &Fixture{}
	for _, c := range []struct {
		role, name, kind string
		key              *string
	}{
		{permit.RoleVerifier, "Load verifier", "railway", &f.VerifierKey},
		{permit.RoleInstitution, "Load institution", "bank", &f.InstitutionKey},
		{permit.RoleOfficer, "Load officer", "officer", &f.OfficerKey},
	} {
		if _, *c.key, err = a.AddClient(ctx, c.role, c.name, c.kind); err != nil {
			return nil, err
		}
		if err := a.SetClientRate(ctx, c.role, c.name, s.ClientRate); err != nil {
			return nil, err
		}
	}
	if f.holder, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if f.holderJWK, err = credential.NewJWK(&f.holder.PublicKey); err != nil {
		return nil, err
	}

	// An e-permit lasts 7 days and the quota counts this month, so a
	// person whose permit is valid for more than 7 days is one issuance.
	today := permit.Today(time.Now())
	var issuable []permit.TravelPermit
	for _, r := range recs {
		tp := r.TravelPermits[0]
		if tp.Status == permit.StatusValid && today.AddDays(8).Before(tp.ExpiresOn) && r.Person.Name != "" {
			issuable = append(issuable, tp)
		}
		if rp := r.ResidencePermit; rp != nil && rp.Status == permit.StatusValid && !rp.ExpiresOn.Before(today) &&
			tp.Status == permit.StatusValid && !tp.ExpiresOn.Before(today) && len(f.linked) < 1000 {
			f.linked = append(f.linked, r)
		}
	}
	need := (s.Presentations + proofIats - 1) / proofIats
	if len(issuable) < need+1 || len(f.linked) == 0 {
		return nil, fmt.Errorf("load: %d people are too few (%d issuable, %d linkable)", s.People, len(issuable), len(f.linked))
	}
	for _, tp := range issuable[:need] {
		c, err := a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &f.holder.PublicKey)
		if err != nil {
			return nil, fmt.Errorf("load: issue a credential to present: %w", err)
		}
		f.presented = append(f.presented, c.Token)
		f.StatusList = c.StatusList
	}
	f.toIssue = issuable[need:]
	if f.StatusList == 0 { // no presentations: issue one for the status list
		tp := f.toIssue[0]
		c, err := a.IssueAtCounter(ctx, tp.Type, tp.Number, permit.ReasonLost, &f.holder.PublicKey)
		if err != nil {
			return nil, err
		}
		f.StatusList, f.toIssue = c.StatusList, f.toIssue[1:]
	}
	return f, nil
}

// Issuable is how many issuances the fixture has people for.
func (f *Fixture) Issuable() int { return len(f.toIssue) }

// Presentations makes up to n distinct EP1 texts of the fixture's
// credentials, with proof times in the proofIats seconds before now, on all
// cores. Make them just before the verification run: they go stale after
// verify.DefaultProofWindow.
func (f *Fixture) Presentations(n int, now time.Time) ([]string, error) {
	n = min(n, len(f.presented)*proofIats)
	out := make([]string, n)
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := w; i < n; i += len(errs) {
				at := now.Add(-time.Duration(i%proofIats) * time.Second)
				p, err := credential.Present(f.presented[i/proofIats], f.holder, at)
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = credential.EncodeQR(p)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Issued is an issuance the server acknowledged: the credential and the
// status entry it answered with.
type Issued struct {
	CTI         string `json:"cti"`
	StatusList  string `json:"status_list"`
	StatusIndex int64  `json:"status_index"`
}

// Check confirms that every acknowledged credential is in the store with
// the status entry the server answered, and that no status entry was given
// twice.
func Check(ctx context.Context, a Authority, f *Fixture, issued []Issued) error {
	seen := map[string]string{}
	for _, is := range issued {
		entry := fmt.Sprintf("%s#%d", is.StatusList, is.StatusIndex)
		if other, ok := seen[entry]; ok {
			return fmt.Errorf("load: status entry %s given to %s and %s", entry, other, is.CTI)
		}
		seen[entry] = is.CTI
		cti, err := hex.DecodeString(is.CTI)
		if err != nil {
			return fmt.Errorf("load: acknowledged cti %q: %w", is.CTI, err)
		}
		c, err := a.Credential(ctx, cti)
		if err != nil {
			return fmt.Errorf("load: acknowledged credential %s: %w", is.CTI, err)
		}
		if !strings.HasSuffix(is.StatusList, fmt.Sprintf("/s/%d", c.StatusList)) || c.StatusIndex != is.StatusIndex {
			return fmt.Errorf("load: credential %s is on list %d#%d in the store, acknowledged on %s",
				is.CTI, c.StatusList, c.StatusIndex, entry)
		}
	}
	return nil
}
