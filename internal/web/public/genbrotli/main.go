// Command genbrotli writes, beside every JavaScript and CSS file under the
// directory given, its brotli form at the best level (NAME.br), which the
// server sends to browsers that accept br. The best level takes seconds
// for a large file, too long for the first request. Run by go generate in
// internal/web/public whenever a vendored library is refreshed; a stale
// .br is never served (the server checks it holds exactly the file).
package main

import (
	"bytes"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/andybalholm/brotli"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: genbrotli DIR")
	}
	err := filepath.WalkDir(os.Args[1], func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".css")) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
		if _, err := w.Write(b); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		return os.WriteFile(p+".br", buf.Bytes(), 0o644)
	})
	if err != nil {
		log.Fatal(err)
	}
}
