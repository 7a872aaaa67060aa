package store

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// A data directory may contain characters that mean something in a file:
// URI; the database must still land exactly at the path given.
func TestSQLitePathIsLiteral(t *testing.T) {
	for _, name := range []string{"a#b", "a?b", "100%", "plain"} {
		path := filepath.Join(t.TempDir(), name, "epermit.db")
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: database not at %s: %v", name, path, err)
		}
	}
}

// TestWritersTakeTurns: SQLite writers get the one write connection in the
// order they asked for it, so that under a burst none waits many turns
// (database/sql alone hands a freed connection to a random waiter).
func TestWritersTakeTurns(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "epermit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const writers = 8
	holding, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	wg.Go(func() {
		db.Update(ctx, func(*Tx) error { close(holding); <-release; return nil })
	})
	<-holding // the first writer holds the connection
	for i := 1; i <= writers; i++ {
		wg.Go(func() {
			db.Update(ctx, func(*Tx) error {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return nil
			})
		})
		waitBlocked(t, i) // writer i waits before writer i+1 starts
	}
	close(release)
	wg.Wait()
	for i, w := range order {
		if w != i+1 {
			t.Fatalf("writers ran in the order %v; want the order they came in", order)
		}
	}
}

// waitBlocked waits until n goroutines are blocked inside DB.run waiting
// for the write connection.
func waitBlocked(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		blocked := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			head, _, _ := strings.Cut(g, "\n")
			if strings.Contains(g, "store.(*DB).run(") && !strings.Contains(g, "TestWritersTakeTurns.func1") &&
				(strings.Contains(head, "[select") || strings.Contains(head, "[chan send")) {
				blocked++
			}
		}
		if blocked == n {
			return
		}
	}
	t.Fatalf("%d writers never all waited", n)
}
