package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// statusBlock is how much status list room a process reserves at once on
// PostgreSQL: one short transaction per this many issuances, and at most
// this many entries of a list lost when the process stops holding them.
const statusBlock = 64

// reserveLockTimeout bounds a reservation's wait for a list's counter row.
const reserveLockTimeout = `'5s'`

// statusBlocks is the room in one status list this process has reserved
// and not yet handed out.
type statusBlocks struct {
	mu   sync.Mutex
	list int64 // the list the room is in
	size int64 // its size
	left int64 // entries reserved, not yet handed out
}

// take hands out one entry's room, reserving a new block on db.reserve
// when none is left, and returns its list and the list's size. size is the
// size of a new list, should one be needed.
func (b *statusBlocks) take(ctx context.Context, db *DB, size int64) (list, listSize int64, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.left == 0 {
		// Concurrent issuances wait here for the one reserving: there is
		// nothing for them to hand out until it is done.
		if b.list, b.size, b.left, err = db.reserveStatus(ctx, size); err != nil {
			b.list, b.size, b.left = 0, 0, 0
			return 0, 0, err
		}
	}
	b.left--
	return b.list, b.size, nil
}

// giveBack returns the room of entries a transaction took but did not
// commit. Room in a list other than the current block's is not returned:
// the list's counter keeps it, and it is lost.
func (b *statusBlocks) giveBack(lists []int64) {
	if len(lists) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.left += int64(len(slices.DeleteFunc(slices.Clone(lists), func(l int64) bool { return l != b.list })))
}

// reserveStatus reserves up to statusBlock entries of room in the newest
// list with room, or starts a new list of size entries, in a transaction
// of its own that holds the list's counter row only for its two
// statements. It waits at most reserveLockTimeout for the row: the
// issuance waiting for it holds locks of its own (the person's), which a
// transaction holding the row could be waiting for, a cycle PostgreSQL
// cannot see (the row is held to commit only by versions before this one,
// during a rolling upgrade).
func (db *DB) reserveStatus(ctx context.Context, size int64) (list, listSize, n int64, err error) {
	tx, err := db.reserve.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = `+reserveLockTimeout); err != nil {
		return 0, 0, 0, err
	}
	var used int64
	err = tx.QueryRowContext(ctx, `SELECT id, size, used FROM status_lists
		WHERE id = (SELECT MAX(id) FROM status_lists) FOR NO KEY UPDATE`).Scan(&list, &listSize, &used)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, 0, 0, err
	}
	if room := listSize * fillPercent / 100; err == nil && used < room {
		n = min(statusBlock, room-used)
		_, err = tx.ExecContext(ctx, `UPDATE status_lists SET used = used + $2 WHERE id = $1`, list, n)
	} else {
		listSize, n = size, min(statusBlock, size*fillPercent/100)
		err = tx.QueryRowContext(ctx, `INSERT INTO status_lists (size, used, created_at) VALUES ($1, $2, $3) RETURNING id`,
			size, n, db.now().Unix()).Scan(&list)
	}
	if err != nil {
		return 0, 0, 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, 0, fmt.Errorf("commit: %w", err)
	}
	return list, listSize, n, nil
}
