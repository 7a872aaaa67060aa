package web

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// TestPrecompressedFresh: every committed .br holds exactly its file, so
// none is dead weight; a refreshed library without `go generate
// ./internal/web/public` fails here (the server would send it gzipped).
func TestPrecompressedFresh(t *testing.T) {
	n := 0
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".br") {
			return err
		}
		n++
		br, _ := staticFS.ReadFile(p)
		plain, err := staticFS.ReadFile(strings.TrimSuffix(p, ".br"))
		if err != nil {
			t.Errorf("%s: no file beside it", p)
			return nil
		}
		got, err := io.ReadAll(brotli.NewReader(bytes.NewReader(br)))
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s is stale: run go generate ./internal/web/public", p)
		}
		return nil
	})
	if n < 2 {
		t.Errorf("%d .br files, want the vendored libraries'", n)
	}
}

// TestIcons: the icons are PNGs of the sizes their names and the manifest
// promise, and favicon.ico holds 16, 32 and 48 px PNGs.
func TestIcons(t *testing.T) {
	for name, size := range map[string]int{"icon-192.png": 192, "icon-512.png": 512, "apple-touch-icon.png": 180} {
		b, err := staticFS.ReadFile("static/icons/" + name)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width != size || cfg.Height != size {
			t.Errorf("%s: %v, %dx%d, want %d px", name, err, cfg.Width, cfg.Height, size)
		}
	}
	ico, err := staticFS.ReadFile("static/icons/favicon.ico")
	if err != nil || len(ico) < 6 {
		t.Fatal(err)
	}
	var head [3]uint16
	binary.Read(bytes.NewReader(ico), binary.LittleEndian, &head)
	if head[0] != 0 || head[1] != 1 || head[2] != 3 {
		t.Fatalf("favicon.ico header %v", head)
	}
	for i, want := range []int{16, 32, 48} {
		e := ico[6+16*i:]
		size, off := binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[12:])
		cfg, err := png.DecodeConfig(bytes.NewReader(ico[off : off+size]))
		if err != nil || cfg.Width != want || int(e[0]) != want {
			t.Errorf("favicon entry %d: %v, %d px, want %d", i, err, cfg.Width, want)
		}
	}
}
