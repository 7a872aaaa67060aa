package authority

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/epermit/epermit/internal/registry"
	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/permit"
)

// ImportReport says what an import changed.
type ImportReport struct {
	Records   int // lines read
	Created   int // people new to the registry
	Updated   int // people whose data or permits changed
	Unchanged int // people already on file exactly so
}

// ImportRegistry reads a registry file (package registry) and applies it in
// one transaction: either every record is imported or none is. Records are
// matched to people on file by any of their travel permits (document type
// and lifetime number); a record whose card has a higher renewal count
// replaces the card on file, one with a lower count is refused as stale.
// Re-importing a file changes nothing. Problems come back as a
// *registry.Error naming every bad line.
func (a *Authority) ImportRegistry(ctx context.Context, r io.Reader, source string) (*ImportReport, error) {
	if err := permit.FreeTextError("registry import", "source", source); err != nil {
		return nil, err
	}
	entries, err := registry.Read(r)
	if err != nil {
		return nil, err
	}
	var rep ImportReport
	err = a.db.Update(ctx, func(tx *store.Tx) error {
		rep = ImportReport{Records: len(entries)}
		var problems []registry.Problem
		h := &holders{}
		for i := range entries {
			if i%holderChunk == 0 {
				if err := h.load(ctx, tx, entries[i:min(i+holderChunk, len(entries))]); err != nil {
					return err
				}
			}
			change, ps, err := importRecord(ctx, tx, h, &entries[i])
			if err != nil {
				return fmt.Errorf("line %d: %w", entries[i].Line, err)
			}
			problems = append(problems, ps...)
			switch change {
			case "registry.create":
				rep.Created++
			case "registry.update":
				rep.Updated++
			default:
				rep.Unchanged++
			}
		}
		if len(problems) > 0 {
			return &registry.Error{Problems: problems}
		}
		return tx.Audit(ctx, event(ctx, "registry.import", "registry", map[string]any{
			"source": source, "records": rep.Records, "created": rep.Created, "updated": rep.Updated}))
	})
	if err != nil {
		return nil, err
	}
	a.log.Info("registry imported", "source", source, "records", rep.Records, "created", rep.Created, "updated", rep.Updated)
	return &rep, nil
}

// holderChunk is how many entries' holders one lookup reads.
const holderChunk = 500

// holders knows who holds the permits an import is about: read from the
// store a chunk of entries at a time, and kept up to date as the import
// saves, so that an import makes two lookups a chunk instead of two a
// record (round trips are most of an import's time on PostgreSQL).
type holders struct {
	permits   map[string]int64 // TravelPermit.Key() → person
	residents map[string]int64 // residence permit number → person
}

func (h *holders) load(ctx context.Context, tx *store.Tx, entries []registry.Entry) error {
	var tps []permit.TravelPermit
	var rps []string
	for _, e := range entries {
		tps = append(tps, e.Record.TravelPermits...)
		if rp := e.Record.ResidencePermit; rp != nil {
			rps = append(rps, rp.Number)
		}
	}
	var err error
	h.permits, h.residents, err = tx.Holders(ctx, tps, rps)
	return err
}

// saved notes that rec, just saved over old (nil for someone new), holds
// its permits. A residence permit in rec replaced old's: a person has one.
func (h *holders) saved(old, rec *permit.Record) {
	for _, tp := range rec.TravelPermits {
		h.permits[tp.Key()] = rec.Person.ID
	}
	if rp := rec.ResidencePermit; rp != nil {
		if old != nil && old.ResidencePermit != nil {
			delete(h.residents, old.ResidencePermit.Number)
		}
		h.residents[rp.Number] = rec.Person.ID
	}
}

// importRecord applies one entry. It returns the audit action it recorded
// ("" when nothing changed), the entry's problems against what is on file,
// or an internal error.
func importRecord(ctx context.Context, tx *store.Tx, h *holders, e *registry.Entry) (string, []registry.Problem, error) {
	rec := &e.Record
	problem := func(field, code, format string, args ...any) []registry.Problem {
		return []registry.Problem{{Line: e.Line, Field: field, Code: code, Reason: fmt.Sprintf(format, args...)}}
	}
	// Who is this? The person holding any of the record's permits.
	var personID int64
	for i, tp := range rec.TravelPermits {
		id, ok := h.permits[tp.Key()]
		switch {
		case !ok:
			continue
		case personID != 0 && id != personID:
			return "", problem("travel_permits["+strconv.Itoa(i)+"]", "conflict", "these permits belong to different people on file"), nil
		}
		personID = id
	}
	if rp := rec.ResidencePermit; rp != nil {
		if id, ok := h.residents[rp.Number]; ok && id != personID {
			return "", problem("residence_permit.number", "conflict", "residence permit %s belongs to another person on file", rp.Number), nil
		}
	}

	var old *permit.Record
	if personID != 0 {
		var err error
		if old, err = tx.Record(ctx, personID); err != nil {
			return "", nil, err
		}
		rec.Person.ID = personID
	}
	changed := diff(old, rec)
	for i, tp := range rec.TravelPermits {
		if prev := findPermit(old, tp.Key()); prev != nil && tp.Renewal < prev.Renewal {
			return "", problem("travel_permits["+strconv.Itoa(i)+"].renewal", "stale",
				"renewal count %d is older than the card on file (%d)", tp.Renewal, prev.Renewal), nil
		}
	}
	if len(changed) == 0 {
		return "", nil, nil
	}
	if old == nil {
		if err := tx.CreateRecord(ctx, rec); err != nil {
			return "", nil, err
		}
		h.saved(nil, rec)
		return "registry.create", nil, tx.Audit(ctx, event(ctx, "registry.create", rec.TravelPermits[0].Key(), map[string]any{"changed": changed}))
	}
	if err := tx.SavePerson(ctx, &rec.Person); err != nil {
		return "", nil, err
	}
	// Credentials that rest on a changed permit are revoked in the
	// import's transaction: the card and what stood in for it change
	// together, or not at all. The person's lock waits for any issuance in
	// flight, so none is missed.
	linkageWhy := residenceRevocation(old.ResidencePermit, rec.ResidencePermit)
	for i := range rec.TravelPermits {
		if err := tx.SaveTravelPermit(ctx, rec.Person.ID, &rec.TravelPermits[i]); err != nil {
			return "", nil, err
		}
		tp := rec.TravelPermits[i]
		if why := registryRevocation(findPermit(old, tp.Key()), tp); why != "" {
			if err := tx.LockPerson(ctx, rec.Person.ID); err != nil {
				return "", nil, err
			}
			if _, err := revokeForPermit(ctx, tx, tp.Type, tp.Number, why, map[string]any{"cause": "registry"}); err != nil {
				return "", nil, err
			}
			linkageWhy = why
		}
	}
	if linkageWhy != "" {
		if err := tx.LockPerson(ctx, rec.Person.ID); err != nil {
			return "", nil, err
		}
		if err := revokeLinkage(ctx, tx, rec.Person.ID, linkageWhy); err != nil {
			return "", nil, err
		}
	}
	if rec.ResidencePermit != nil {
		if err := tx.SaveResidencePermit(ctx, rec.Person.ID, rec.ResidencePermit); err != nil {
			return "", nil, err
		}
	}
	h.saved(old, rec)
	return "registry.update", nil, tx.Audit(ctx, event(ctx, "registry.update", rec.TravelPermits[0].Key(), map[string]any{"changed": changed}))
}

func findPermit(rec *permit.Record, key string) *permit.TravelPermit {
	if rec == nil {
		return nil
	}
	for i := range rec.TravelPermits {
		if rec.TravelPermits[i].Key() == key {
			return &rec.TravelPermits[i]
		}
	}
	return nil
}

// diff names what an import changes in a record: field names and permit
// keys only, since the audit log holds no personal data. Permits on file
// that the new record does not mention are kept: the registry ends a permit
// through its status (cancelled), never by leaving it out.
func diff(old, rec *permit.Record) []string {
	if old == nil {
		return []string{"created"}
	}
	var out []string
	o, n := &old.Person, &rec.Person
	for _, f := range []struct {
		name string
		same bool
	}{
		{"name", o.Name == n.Name}, {"latin_name", o.LatinName == n.LatinName}, {"sex", o.Sex == n.Sex},
		{"birth_date", o.BirthDate == n.BirthDate}, {"region", o.Region == n.Region},
		{"phone", o.Phone == n.Phone}, {"portrait", bytes.Equal(o.Portrait, n.Portrait)},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	for _, tp := range rec.TravelPermits {
		if prev := findPermit(old, tp.Key()); prev == nil || *prev != tp {
			out = append(out, "travel_permit:"+tp.Key())
		}
	}
	if nr := rec.ResidencePermit; nr != nil && (old.ResidencePermit == nil || *old.ResidencePermit != *nr) {
		out = append(out, "residence_permit")
	}
	return out
}

// ExportRegistry writes every registry record in the import format, so that
// exporting and importing into an empty store is lossless.
func (a *Authority) ExportRegistry(ctx context.Context, w io.Writer) (int, error) {
	enc := registry.NewEncoder(w)
	n := 0
	err := a.db.EachRecord(ctx, func(rec *permit.Record) error {
		n++
		return enc.Encode(rec)
	})
	if err != nil {
		return n, err
	}
	return n, enc.Flush()
}

// RegistrySize returns how many people the registry holds.
func (a *Authority) RegistrySize(ctx context.Context) (int64, error) { return a.db.CountPersons(ctx) }

// Record returns the registry record of the person holding a travel permit.
func (a *Authority) Record(ctx context.Context, t permit.DocumentType, number string) (*permit.Record, error) {
	var rec *permit.Record
	err := a.db.View(ctx, func(tx *store.Tx) (err error) {
		rec, err = tx.RecordByPermit(ctx, t, number)
		return err
	})
	return rec, err
}
