package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/epermit/epermit/permit"
)

const personColumns = `id, name, latin_name, sex, birth_date, region, phone, portrait`

func scanPerson(s scanner) (*permit.Person, error) {
	var p permit.Person
	var birth string
	if err := s.Scan(&p.ID, &p.Name, &p.LatinName, &p.Sex, &birth, &p.Region, &p.Phone, &p.Portrait); err != nil {
		return nil, err
	}
	var err error
	if p.BirthDate, err = permit.ParseDate(birth); err != nil {
		return nil, fmt.Errorf("store: person %d: %w", p.ID, err)
	}
	return &p, nil
}

func scanTravelPermit(s scanner, personID *int64) (permit.TravelPermit, error) {
	var tp permit.TravelPermit
	var issued, expires string
	err := s.Scan(personID, &tp.Type, &tp.Number, &tp.Renewal, &issued, &expires, &tp.Status)
	if err == nil {
		err = parseDates(&tp.IssuedOn, issued, &tp.ExpiresOn, expires)
	}
	return tp, err
}

func scanResidencePermit(s scanner, personID *int64) (*permit.ResidencePermit, error) {
	var rp permit.ResidencePermit
	var issued, expires string
	err := s.Scan(personID, &rp.Number, &issued, &expires, &rp.Status)
	if err == nil {
		err = parseDates(&rp.IssuedOn, issued, &rp.ExpiresOn, expires)
	}
	return &rp, err
}

func parseDates(d1 *permit.Date, s1 string, d2 *permit.Date, s2 string) (err error) {
	if *d1, err = permit.ParseDate(s1); err == nil {
		*d2, err = permit.ParseDate(s2)
	}
	return err
}

// Record returns the registry record of a person.
func (tx *Tx) Record(ctx context.Context, personID int64) (*permit.Record, error) {
	p, err := scanPerson(tx.queryRow(ctx, `SELECT `+personColumns+` FROM persons WHERE id = $1`, personID))
	if err != nil {
		return nil, notFound(err, "no person %d in the registry", personID)
	}
	rec := &permit.Record{Person: *p}
	rows, err := tx.query(ctx, `SELECT person_id, doc_type, number, renewal, issued_on, expires_on, status
		FROM travel_permits WHERE person_id = $1 ORDER BY doc_type, number`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		tp, err := scanTravelPermit(rows, &id)
		if err != nil {
			return nil, err
		}
		rec.TravelPermits = append(rec.TravelPermits, tp)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var id int64
	rp, err := scanResidencePermit(tx.queryRow(ctx, `SELECT person_id, number, issued_on, expires_on, status
		FROM residence_permits WHERE person_id = $1`, personID), &id)
	switch {
	case err == nil:
		rec.ResidencePermit = rp
	case err != sql.ErrNoRows:
		return nil, err
	}
	return rec, nil
}

// The holder queries join persons and travel permits on parameters given
// CASTs: with bare parameters, SQLite re-prepares such a join whenever their
// values change, which measured at about 20µs, a third of the statement.
const holderColumns = `p.id, p.name, p.latin_name, p.sex, p.birth_date, p.region, p.phone, p.portrait,
	t.doc_type, t.number, t.renewal, t.issued_on, t.expires_on, t.status`

func scanHolder(s scanner) (*permit.Person, *permit.TravelPermit, error) {
	var p permit.Person
	var birth string
	var tp permit.TravelPermit
	var issued, expires string
	err := s.Scan(&p.ID, &p.Name, &p.LatinName, &p.Sex, &birth, &p.Region, &p.Phone, &p.Portrait,
		&tp.Type, &tp.Number, &tp.Renewal, &issued, &expires, &tp.Status)
	if err != nil {
		return nil, nil, err
	}
	if p.BirthDate, err = permit.ParseDate(birth); err != nil {
		return nil, nil, fmt.Errorf("store: person %d: %w", p.ID, err)
	}
	if err := parseDates(&tp.IssuedOn, issued, &tp.ExpiresOn, expires); err != nil {
		return nil, nil, err
	}
	return &p, &tp, nil
}

// PermitHolder returns person personID with their travel permit (t, number)
// in one read, for issuance, which needs nothing else of the record; a
// permit the person does not hold is not_found.
func (tx *Tx) PermitHolder(ctx context.Context, personID int64, t permit.DocumentType, number string) (*permit.Person, *permit.TravelPermit, error) {
	p, tp, err := scanHolder(tx.queryRow(ctx, `SELECT `+holderColumns+`
		FROM travel_permits t JOIN persons p ON p.id = t.person_id
		WHERE t.doc_type = CAST($1 AS INTEGER) AND t.number = CAST($2 AS TEXT) AND t.person_id = CAST($3 AS BIGINT)`,
		t, number, personID))
	return p, tp, notFound(err, "no %s permit %s in the registry", t, number)
}

// LockPermitHolder locks the person holding travel permit (t, number), as
// LockPerson does, and returns them with the permit read under the lock:
// PersonIDByPermit, LockPerson and PermitHolder in as few statements as the
// engine allows, for counter issuance.
func (tx *Tx) LockPermitHolder(ctx context.Context, t permit.DocumentType, number string) (*permit.Person, *permit.TravelPermit, error) {
	if tx.db.engine == SQLite {
		// One read is all SQLite needs: the transaction holds the write lock
		// already (see LockPerson).
		p, tp, err := scanHolder(tx.queryRow(ctx, `SELECT `+holderColumns+`
			FROM travel_permits t JOIN persons p ON p.id = t.person_id
			WHERE t.doc_type = CAST($1 AS INTEGER) AND t.number = CAST($2 AS TEXT)`, t, number))
		return p, tp, notFound(err, "no %s permit %s in the registry", t, number)
	}
	// PostgreSQL: lock, then read in a statement of its own, whose snapshot
	// (read committed) includes whatever the lock holder we waited for wrote.
	var id int64
	err := tx.queryRow(ctx, `UPDATE persons SET revision = revision + 1
		WHERE id = (SELECT person_id FROM travel_permits WHERE doc_type = $1 AND number = $2) RETURNING id`, t, number).Scan(&id)
	if err != nil {
		return nil, nil, notFound(err, "no %s permit %s in the registry", t, number)
	}
	return tx.PermitHolder(ctx, id, t, number)
}

// PersonIDByPermit returns the id of the person holding travel permit
// (t, number), where number is the lifetime number.
func (tx *Tx) PersonIDByPermit(ctx context.Context, t permit.DocumentType, number string) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `SELECT person_id FROM travel_permits WHERE doc_type = $1 AND number = $2`, t, number).Scan(&id)
	return id, notFound(err, "no %s permit %s in the registry", t, number)
}

// ProofingCandidate is what identity proofing compares an applicant's
// details with: the holder of a travel permit, without the portrait.
type ProofingCandidate struct {
	PersonID        int64
	Name, LatinName string
	BirthDate       permit.Date
	Phone           string
}

// ProofingCandidate returns the holder of travel permit (t, number), or nil
// when it is not on file. It is one statement either way, reading no more
// than the comparison needs, so that an unknown permit costs what a known
// one does.
func (tx *Tx) ProofingCandidate(ctx context.Context, t permit.DocumentType, number string) (*ProofingCandidate, error) {
	var c ProofingCandidate
	var birth string
	err := tx.queryRow(ctx, `SELECT p.id, p.name, p.latin_name, p.birth_date, p.phone
		FROM travel_permits tp JOIN persons p ON p.id = tp.person_id WHERE tp.doc_type = $1 AND tp.number = $2`, t, number).
		Scan(&c.PersonID, &c.Name, &c.LatinName, &birth, &c.Phone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if c.BirthDate, err = permit.ParseDate(birth); err != nil {
		return nil, fmt.Errorf("store: person %d: %w", c.PersonID, err)
	}
	return &c, nil
}

// PersonIDByResidencePermit returns the id of the person holding the
// residence permit with this number.
func (tx *Tx) PersonIDByResidencePermit(ctx context.Context, number string) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `SELECT person_id FROM residence_permits WHERE number = $1`, number).Scan(&id)
	return id, notFound(err, "no residence permit %s in the registry", number)
}

// maxListArgs bounds the numbers one lookup sends: far under what either
// engine takes in one statement (SQLite 32,766 parameters, PostgreSQL
// 65,535), and where the SQLite driver's binding, whose cost grows faster
// than the list (2 ms for 500, 300 ms for 10,000), stays cheap.
const maxListArgs = 1_000

// Holders looks up many permits at once, for imports: it returns the person
// holding each of the travel permits tps (by TravelPermit.Key()) and each of
// the residence permit numbers that are on file, in a query for every
// maxListArgs numbers.
func (tx *Tx) Holders(ctx context.Context, tps []permit.TravelPermit, residence []string) (permits, residents map[string]int64, err error) {
	permits, residents = map[string]int64{}, map[string]int64{}
	if tx.db.engine == Postgres {
		// A prepared statement's generic plan, made while the transaction
		// (an import) is still filling the tables, scans them; planned for
		// each call's values, the lookups use the keys. This holds for the
		// rest of the transaction.
		if _, err := tx.tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
			return nil, nil, err
		}
	}
	for len(tps) > 0 {
		batch := tps[:min(len(tps), maxListArgs)]
		tps = tps[len(batch):]
		var types []any
		seen := map[permit.DocumentType]bool{}
		numbers := make([]any, len(batch))
		for i, tp := range batch {
			numbers[i] = tp.Number
			if !seen[tp.Type] {
				seen[tp.Type] = true
				types = append(types, tp.Type)
			}
		}
		// Both IN lists, so that the (doc_type, number) key finds each row.
		q := `SELECT doc_type, number, person_id FROM travel_permits WHERE doc_type IN (` + placeholders(1, len(types)) +
			`) AND number IN (` + placeholders(len(types)+1, len(numbers)) + `)`
		err = tx.collect(ctx, q, append(types, numbers...), func(rows *sql.Rows) error {
			var tp permit.TravelPermit
			var id int64
			if err := rows.Scan(&tp.Type, &tp.Number, &id); err != nil {
				return err
			}
			permits[tp.Key()] = id
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	for len(residence) > 0 && err == nil {
		batch := residence[:min(len(residence), maxListArgs)]
		residence = residence[len(batch):]
		args := make([]any, len(batch))
		for i, n := range batch {
			args[i] = n
		}
		err = tx.collect(ctx, `SELECT number, person_id FROM residence_permits WHERE number IN (`+placeholders(1, len(args))+`)`,
			args, func(rows *sql.Rows) error {
				var n string
				var id int64
				if err := rows.Scan(&n, &id); err != nil {
					return err
				}
				residents[n] = id
				return nil
			})
	}
	return permits, residents, err
}

// collect runs q unprepared (its text varies with the number of arguments,
// so a prepared copy would rarely serve again) and calls fn for each row.
func (tx *Tx) collect(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := tx.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// RecordByPermit returns the record of the person holding travel permit
// (t, number).
func (tx *Tx) RecordByPermit(ctx context.Context, t permit.DocumentType, number string) (*permit.Record, error) {
	id, err := tx.PersonIDByPermit(ctx, t, number)
	if err != nil {
		return nil, err
	}
	return tx.Record(ctx, id)
}

// CreateRecord adds a person new to the registry with their permits, and
// sets rec.Person.ID. It fails if any of the permits is on file. On
// PostgreSQL it is one statement, since an import of many new people is
// mostly round trips; SQLite, in process, runs one insert a row, and so
// does PostgreSQL for a record of more than 100 cards (each takes 6
// parameters of a statement's 65,535).
func (tx *Tx) CreateRecord(ctx context.Context, rec *permit.Record) error {
	p := &rec.Person
	if tx.db.engine == SQLite || len(rec.TravelPermits) > 100 {
		p.ID = 0
		if err := tx.SavePerson(ctx, p); err != nil {
			return err
		}
		for _, tp := range rec.TravelPermits {
			if _, err := tx.exec(ctx, `INSERT INTO travel_permits (doc_type, number, person_id, renewal, issued_on, expires_on, status)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				tp.Type, tp.Number, p.ID, tp.Renewal, tp.IssuedOn.String(), tp.ExpiresOn.String(), tp.Status); err != nil {
				return err
			}
		}
		if rp := rec.ResidencePermit; rp != nil {
			_, err := tx.exec(ctx, `INSERT INTO residence_permits (number, person_id, issued_on, expires_on, status)
				VALUES ($1, $2, $3, $4, $5)`, rp.Number, p.ID, rp.IssuedOn.String(), rp.ExpiresOn.String(), rp.Status)
			return err
		}
		return nil
	}
	args := []any{p.Name, p.LatinName, p.Sex, p.BirthDate.String(), p.Region, p.Phone, p.Portrait}
	var q strings.Builder
	q.WriteString(`WITH p AS (INSERT INTO persons (name, latin_name, sex, birth_date, region, phone, portrait)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id)`)
	if len(rec.TravelPermits) > 0 {
		q.WriteString(`, t AS (INSERT INTO travel_permits (doc_type, number, person_id, renewal, issued_on, expires_on, status)
		SELECT v.doc_type, v.number, p.id, v.renewal, v.issued_on, v.expires_on, v.status FROM p, (VALUES `)
		for i, tp := range rec.TravelPermits {
			if i > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d::smallint, $%d::text, $%d::integer, $%d::text, $%d::text, $%d::text)", n+1, n+2, n+3, n+4, n+5, n+6)
			args = append(args, tp.Type, tp.Number, tp.Renewal, tp.IssuedOn.String(), tp.ExpiresOn.String(), tp.Status)
		}
		q.WriteString(`) AS v (doc_type, number, renewal, issued_on, expires_on, status))`)
	}
	if rp := rec.ResidencePermit; rp != nil {
		n := len(args)
		fmt.Fprintf(&q, `, r AS (INSERT INTO residence_permits (number, person_id, issued_on, expires_on, status)
		SELECT $%d, p.id, $%d, $%d, $%d FROM p)`, n+1, n+2, n+3, n+4)
		args = append(args, rp.Number, rp.IssuedOn.String(), rp.ExpiresOn.String(), rp.Status)
	}
	q.WriteString(` SELECT id FROM p`)
	return tx.queryRow(ctx, q.String(), args...).Scan(&p.ID)
}

// SavePerson inserts p when p.ID is 0 (setting p.ID) and updates it otherwise.
func (tx *Tx) SavePerson(ctx context.Context, p *permit.Person) error {
	if p.ID == 0 {
		return tx.queryRow(ctx, `INSERT INTO persons (name, latin_name, sex, birth_date, region, phone, portrait)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			p.Name, p.LatinName, p.Sex, p.BirthDate.String(), p.Region, p.Phone, p.Portrait).Scan(&p.ID)
	}
	res, err := tx.exec(ctx, `UPDATE persons SET name = $2, latin_name = $3, sex = $4, birth_date = $5,
		region = $6, phone = $7, portrait = $8 WHERE id = $1`,
		p.ID, p.Name, p.LatinName, p.Sex, p.BirthDate.String(), p.Region, p.Phone, p.Portrait)
	return mustAffect(res, err, "person %d", p.ID)
}

// LockPerson takes a write lock on a person until the transaction ends, so
// that rules counting the person's applications and credentials see every
// concurrent change. On PostgreSQL it bumps a revision column, which takes
// the row lock. On SQLite a read-write transaction holds the database's one
// write lock from its start (BEGIN IMMEDIATE), so there is nothing left to
// lock and it only checks that the person exists: writing the row would cost
// a page in every issuance's commit for nothing.
func (tx *Tx) LockPerson(ctx context.Context, personID int64) error {
	if tx.db.engine == SQLite {
		var one int
		err := tx.queryRow(ctx, `SELECT 1 FROM persons WHERE id = $1`, personID).Scan(&one)
		return notFound(err, "no person %d", personID)
	}
	res, err := tx.exec(ctx, `UPDATE persons SET revision = revision + 1 WHERE id = $1`, personID)
	return mustAffect(res, err, "person %d", personID)
}

// SaveTravelPermit inserts or replaces the travel permit (tp.Type, tp.Number)
// of a person.
func (tx *Tx) SaveTravelPermit(ctx context.Context, personID int64, tp *permit.TravelPermit) error {
	_, err := tx.exec(ctx, `INSERT INTO travel_permits (doc_type, number, person_id, renewal, issued_on, expires_on, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (doc_type, number) DO UPDATE SET person_id = excluded.person_id, renewal = excluded.renewal,
			issued_on = excluded.issued_on, expires_on = excluded.expires_on, status = excluded.status`,
		tp.Type, tp.Number, personID, tp.Renewal, tp.IssuedOn.String(), tp.ExpiresOn.String(), tp.Status)
	return err
}

// SetTravelPermitStatus changes the registry status of a travel permit.
func (tx *Tx) SetTravelPermitStatus(ctx context.Context, t permit.DocumentType, number string, s permit.Status) error {
	res, err := tx.exec(ctx, `UPDATE travel_permits SET status = $3 WHERE doc_type = $1 AND number = $2`, t, number, s)
	return mustAffect(res, err, "%s permit %s", t, number)
}

// SaveResidencePermit sets the residence permit of a person, replacing the
// one on file; nil removes it.
func (tx *Tx) SaveResidencePermit(ctx context.Context, personID int64, rp *permit.ResidencePermit) error {
	if rp == nil {
		_, err := tx.exec(ctx, `DELETE FROM residence_permits WHERE person_id = $1`, personID)
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO residence_permits (number, person_id, issued_on, expires_on, status)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (person_id) DO UPDATE SET number = excluded.number, issued_on = excluded.issued_on,
			expires_on = excluded.expires_on, status = excluded.status`,
		rp.Number, personID, rp.IssuedOn.String(), rp.ExpiresOn.String(), rp.Status)
	return err
}

// CountPersons returns how many people the registry holds.
func (db *DB) CountPersons(ctx context.Context) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM persons`).Scan(&n)
	return n, err
}

// EachRecord calls fn for every registry record in person id order, reading
// in pages so that a registry of any size streams in bounded memory. Each
// page is one consistent read.
func (db *DB) EachRecord(ctx context.Context, fn func(*permit.Record) error) error {
	const page = 500
	var after int64
	for {
		var recs []*permit.Record
		err := db.View(ctx, func(tx *Tx) error {
			rows, err := tx.query(ctx, `SELECT `+personColumns+` FROM persons WHERE id > $1 ORDER BY id LIMIT $2`, after, page)
			if err != nil {
				return err
			}
			defer rows.Close()
			byID := map[int64]*permit.Record{}
			for rows.Next() {
				p, err := scanPerson(rows)
				if err != nil {
					return err
				}
				rec := &permit.Record{Person: *p}
				recs = append(recs, rec)
				byID[p.ID] = rec
			}
			if err := rows.Err(); err != nil || len(recs) == 0 {
				return err
			}
			first, last := recs[0].Person.ID, recs[len(recs)-1].Person.ID
			tps, err := tx.query(ctx, `SELECT person_id, doc_type, number, renewal, issued_on, expires_on, status
				FROM travel_permits WHERE person_id BETWEEN $1 AND $2 ORDER BY person_id, doc_type, number`, first, last)
			if err != nil {
				return err
			}
			defer tps.Close()
			for tps.Next() {
				var id int64
				tp, err := scanTravelPermit(tps, &id)
				if err != nil {
					return err
				}
				byID[id].TravelPermits = append(byID[id].TravelPermits, tp)
			}
			if err := tps.Err(); err != nil {
				return err
			}
			rps, err := tx.query(ctx, `SELECT person_id, number, issued_on, expires_on, status
				FROM residence_permits WHERE person_id BETWEEN $1 AND $2`, first, last)
			if err != nil {
				return err
			}
			defer rps.Close()
			for rps.Next() {
				var id int64
				rp, err := scanResidencePermit(rps, &id)
				if err != nil {
					return err
				}
				byID[id].ResidencePermit = rp
			}
			return rps.Err()
		})
		if err != nil {
			return err
		}
		for _, rec := range recs {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(recs) < page {
			return nil
		}
		after = recs[len(recs)-1].Person.ID
	}
}
