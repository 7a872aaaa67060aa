package authority

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/epermit/epermit/internal/keys"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// Settings are what `epermit init` records in the store, so that every
// later command and every replica writes the same URIs into credentials
// and makes new keys in the same place. An empty field was not recorded.
type Settings struct {
	PublicURL string
	StatusURL string
	IssuerID  string
	KMS       string // where new issuer keys are made; never holds a PIN
	// Initialised: `epermit init` ran, or (in a store set up before it
	// existed) an issuer key was made.
	Initialised bool
}

// LoadSettings reads the recorded settings. It is a function of the store,
// not a method, because the authority's Config is made from them.
func LoadSettings(ctx context.Context, db *store.DB) (Settings, error) {
	var s Settings
	if v, err := db.SchemaVersion(ctx); err != nil || v == 0 {
		return s, err // never migrated: nothing recorded, nothing set up
	}
	err := db.View(ctx, func(tx *store.Tx) error {
		m, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		s = Settings{PublicURL: m[store.SettingPublicURL], StatusURL: m[store.SettingStatusURL],
			IssuerID: m[store.SettingIssuerID], KMS: m[store.SettingKMS]}
		ks, err := tx.IssuerKeys(ctx)
		s.Initialised = s.PublicURL != "" || len(ks) > 0
		return err
	})
	return s, err
}

// CheckBaseURL checks a public or status URL base: absolute http(s), no
// query, fragment or trailing slash.
func CheckBaseURL(flag, s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
		u.User != nil || strings.HasSuffix(s, "/") {
		return permit.Errorf(permit.ECodeInvalid, "%s %q: want an absolute http(s) URL without a query or a trailing slash, e.g. https://epermit.example", flag, s)
	}
	return nil
}

// Init sets up a store that was never set up: in one transaction it records
// the configured public URL, status URL, issuer id and KMS, the first
// issuer key (of algorithm alg, made where the key store says), and the first admin officer,
// named admin, whose API key it returns (shown once, never stored). A store
// with an issuer key or recorded settings is a conflict, also when another
// Init runs at the same time.
func (a *Authority) Init(ctx context.Context, alg keys.Algorithm, admin string) (*permit.IssuerKey, *permit.Client, string, error) {
	if err := checkClient(permit.RoleOfficer, admin, "admin"); err != nil {
		return nil, nil, "", err
	}
	for flag, v := range map[string]string{"public URL": a.cfg.PublicURL, "status URL": a.cfg.StatusURL} {
		if err := CheckBaseURL(flag, v); err != nil {
			return nil, nil, "", err
		}
	}
	var officer *permit.Client
	var officerKey string
	k, err := a.makeKey(ctx, "key.init", alg, false, func(tx *store.Tx) error {
		if ks, err := tx.IssuerKeys(ctx); err != nil {
			return err
		} else if len(ks) > 0 {
			return permit.Errorf(permit.ECodeConflict, "the store has issuer keys already: it was set up before")
		}
		settings := map[string]string{store.SettingPublicURL: a.cfg.PublicURL, store.SettingStatusURL: a.cfg.StatusURL,
			store.SettingIssuerID: a.cfg.IssuerID}
		for _, name := range []string{store.SettingPublicURL, store.SettingStatusURL, store.SettingIssuerID} {
			if err := tx.AddSetting(ctx, name, settings[name]); err != nil {
				if permit.ErrorCode(err) == permit.ECodeConflict {
					return permit.Errorf(permit.ECodeConflict, "the store was set up before (%s is recorded)", name)
				}
				return err
			}
		}
		if err := tx.Audit(ctx, event(ctx, "store.init", "settings", settings)); err != nil {
			return err
		}
		var err error
		officer, officerKey, err = addClient(ctx, tx, permit.RoleOfficer, admin, "admin")
		return err
	})
	if err != nil {
		return nil, nil, "", err
	}
	return k, officer, officerKey, nil
}

// RecordSettings replaces the recorded settings named (store.SettingPublicURL,
// SettingStatusURL, SettingIssuerID) with the configured values (an
// operator moving the service), audited. It returns the names it changed.
func (a *Authority) RecordSettings(ctx context.Context, names ...string) ([]string, error) {
	values := map[string]string{store.SettingPublicURL: a.cfg.PublicURL, store.SettingStatusURL: a.cfg.StatusURL,
		store.SettingIssuerID: a.cfg.IssuerID}
	for _, name := range names {
		if _, ok := values[name]; !ok {
			return nil, permit.Errorf(permit.ECodeInvalid, "setting %q cannot be recorded this way", name)
		}
	}
	for flag, v := range map[string]string{"public URL": a.cfg.PublicURL, "status URL": a.cfg.StatusURL} {
		if err := CheckBaseURL(flag, v); err != nil {
			return nil, err
		}
	}
	var changed []string
	err := a.db.Update(ctx, func(tx *store.Tx) error {
		changed = nil
		old, err := tx.Settings(ctx)
		if err != nil {
			return err
		}
		details := map[string]string{}
		for _, name := range names {
			if old[name] == values[name] {
				continue
			}
			if err := tx.SetSetting(ctx, name, values[name]); err != nil {
				return err
			}
			changed = append(changed, name)
			details[name] = fmt.Sprintf("%s -> %s", old[name], values[name])
		}
		if len(changed) == 0 {
			return nil
		}
		return tx.Audit(ctx, event(ctx, "store.settings", "settings", details))
	})
	return changed, err
}
