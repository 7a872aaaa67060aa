package store

// SetEntriesQuery is setEntriesQuery, for the query plan test.
const SetEntriesQuery = setEntriesQuery

// CountStatusInTx makes db count status entries in each issuing
// transaction, as SQLite does and PostgreSQL did before blocks (on), or
// reserve them in blocks again (off): for the benchmark comparing them.
func (db *DB) CountStatusInTx(on bool) (restore func()) {
	reserve := db.reserve
	if on {
		db.reserve = nil
	}
	return func() { db.reserve = reserve }
}

// AuditHeadApart makes db write the audit head in a statement of its own
// on PostgreSQL too (on), or with the last events again (off): for the
// benchmark comparing them.
func (db *DB) AuditHeadApart(on bool) (restore func()) {
	db.auditHeadApart = on
	return func() { db.auditHeadApart = false }
}
