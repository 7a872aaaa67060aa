package main

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/internal/store"
	"github.com/epermit/epermit/internal/store/storetest"
)

// TestLoadShortRun runs `epermit load` for a few seconds against real
// servers on loopback: one on SQLite, two replicas sharing one PostgreSQL
// database. It asserts no request failed and every acknowledged credential
// is in the store (the command exits 1 otherwise), never how fast.
func TestLoadShortRun(t *testing.T) {
	for _, tc := range []struct {
		engine   store.Engine
		replicas int
	}{{store.SQLite, 1}, {store.Postgres, 2}} {
		t.Run(string(tc.engine), func(t *testing.T) {
			data := t.TempDir()
			db := storetest.DSN(t, tc.engine)
			if tc.engine == store.SQLite {
				db = filepath.Join(data, "epermit.db")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if _, err := run(t, ctx, "init", "--data", data, "--db", db, "--public-url", "http://127.0.0.1:8080", "--admin", "Admin"); err != nil {
				t.Fatal(err)
			}
			args := []string{"load", "--data", data, "--db", db, "--clients", "4", "--duration", "300ms",
				"--people", "300", "--presentations", "200", "--floor-time", "100ms", "--log-level", "warn"}
			done := make(chan error, tc.replicas)
			for range tc.replicas {
				addr := freeAddr(t)
				go func() {
					_, err := run(t, ctx, "serve", "--data", data, "--db", db, "--addr", addr,
						"--rate-limit", "100000", "--log-level", "error")
					done <- err
				}()
				waitHealthy(t, "http://"+addr)
				args = append(args, "--url", "http://"+addr)
			}
			out, err := run(t, ctx, args...)
			t.Log("\n" + out)
			if err != nil {
				t.Fatalf("epermit load: %v", err)
			}
			for _, path := range loadPaths {
				if !strings.Contains(out, path) {
					t.Errorf("no row for %s", path)
				}
			}
			if !strings.Contains(out, "issuance check: ") || !strings.Contains(out, "all in the store, no status entry twice") {
				t.Error("no issuance check")
			}
			cancel()
			for range tc.replicas {
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
			}
		})
	}
}

// TestLoadRefusesARegistry: a load run seeds a fictional registry and
// issues to it, so it refuses a database that holds people already.
func TestLoadRefusesARegistry(t *testing.T) {
	ctx := context.Background()
	data := newStore(t)
	example := filepath.Join("..", "..", "internal", "registry", "testdata", "example.jsonl")
	if _, err := run(t, ctx, "registry", "import", example, "--data", data); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, ctx, "load", "--data", data, "--url", "http://127.0.0.1:1", "--duration", "100ms")
	if err == nil || !strings.Contains(err.Error(), "needs an empty database") {
		t.Fatalf("load on a registry: %v", err)
	}
	if _, err := run(t, ctx, "load", "--data", data, "--url", "ftp://x", "--duration", "100ms"); exitCodeOf(err) != exitUsage {
		t.Errorf("bad --url: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("%s never became healthy", base)
}

func TestSetRateCommand(t *testing.T) {
	ctx := context.Background()
	data := newStore(t)
	if _, err := run(t, ctx, "institution", "add", "--name", "Bank A", "--kind", "bank", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, "institution", "set-rate", "--name", "Bank A", "--rate", "500", "--data", data); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ctx, "institution", "list", "--data", data); err != nil || !strings.Contains(out, "500/s") {
		t.Fatalf("list = %q, %v; want the rate 500/s", out, err)
	}
	if _, err := run(t, ctx, "institution", "set-rate", "--name", "Bank A", "--rate", "-3", "--data", data); exitCodeOf(err) != exitFailure {
		t.Errorf("negative rate: %v", err)
	}
	if _, err := run(t, ctx, "institution", "set-rate", "--name", "Bank B", "--rate", "5", "--data", data); err == nil {
		t.Error("set-rate of an unknown institution succeeded")
	}
	if out, _ := run(t, ctx, "institution", "list", "--data", data); !strings.Contains(out, "500/s") {
		t.Errorf("a refused change changed the rate: %q", out)
	}
}
