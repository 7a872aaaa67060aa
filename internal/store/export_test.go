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
