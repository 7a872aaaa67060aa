package public

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

// assets serves the static files. Each carries a strong ETag of its
// content, so a phone whose copy is older than Cache-Control allows asks
// again with If-None-Match and gets a 304, not the file. Text files go out
// compressed when the browser accepts it, brotli before gzip: each
// compressed form is made once, on its first request, and kept, since the
// files are embedded and never change while the server runs.
type assets struct {
	fsys  fs.FS
	mu    sync.Mutex
	files map[string]*asset
}

// asset is one static file and its compressed forms.
type asset struct {
	name  string
	ctype string
	plain []byte
	etag  string // of the plain bytes; a compressed form adds its coding

	once [numCodings]sync.Once
	enc  [numCodings][]byte // nil: not smaller than plain, served plain
}

// codings are the content codings offered, the preferred first. Brotli
// pays only at its best level, which takes seconds for the QR decoder: so
// it is made at build time (go generate, for the vendored libraries, the
// bulk of the bytes) and served from the file's .br sibling when that
// holds exactly the file. gzip is quick enough to make on first request.
var codings = [numCodings]struct {
	name string
	make func(fsys fs.FS, f *asset) []byte
}{
	{"br", func(fsys fs.FS, f *asset) []byte {
		b, err := fs.ReadFile(fsys, f.name+".br")
		if err != nil {
			return nil
		}
		plain, err := io.ReadAll(io.LimitReader(brotli.NewReader(bytes.NewReader(b)), int64(len(f.plain))+1))
		if err != nil || !bytes.Equal(plain, f.plain) {
			return nil // stale: the file changed since go generate
		}
		return b
	}},
	{"gzip", func(fsys fs.FS, f *asset) []byte {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write(f.plain)
		w.Close()
		return buf.Bytes()
	}},
}

const numCodings = 2

// staticCacheControl lets a phone keep an asset for an hour without asking;
// after that the ETag makes asking cheap. Not immutable: the names carry no
// content hash, and a fix must reach phones the same day.
const staticCacheControl = "public, max-age=3600"

func newAssets(fsys fs.FS) *assets { return &assets{fsys: fsys, files: map[string]*asset{}} }

// open returns the asset at name (a path inside fsys), reading it on first
// use. Directories and missing files are fs.ErrNotExist.
func (a *assets) open(name string) (*asset, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.files[name]; ok {
		return f, nil
	}
	if !fs.ValidPath(name) {
		return nil, fs.ErrNotExist
	}
	if st, err := fs.Stat(a.fsys, name); err != nil || st.IsDir() {
		return nil, fs.ErrNotExist
	}
	b, err := fs.ReadFile(a.fsys, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = http.DetectContentType(b)
	}
	f := &asset{name: name, ctype: ctype, plain: b, etag: base64.RawURLEncoding.EncodeToString(sum[:16])}
	a.files[name] = f
	return f, nil
}

// compressible reports whether a coding can shrink the file: text, not
// images that are compressed already.
func (f *asset) compressible() bool {
	return strings.HasPrefix(f.ctype, "text/") || strings.Contains(f.ctype, "javascript") ||
		strings.Contains(f.ctype, "json") || strings.Contains(f.ctype, "svg") || strings.HasPrefix(f.ctype, "image/x-icon") ||
		strings.HasPrefix(f.ctype, "image/vnd.microsoft.icon")
}

// encoded returns coding i's form of the file, or nil when it is no smaller.
func (a *assets) encoded(f *asset, i int) []byte {
	f.once[i].Do(func() {
		if b := codings[i].make(a.fsys, f); b != nil && len(b) < len(f.plain) {
			f.enc[i] = b
		}
	})
	return f.enc[i]
}

// serve answers with the file: the best coding the request accepts, its
// ETag, and a 304 when If-None-Match already names it.
func (a *assets) serve(w http.ResponseWriter, r *http.Request, f *asset, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cacheControl)
	body, etag := f.plain, f.etag
	if f.compressible() {
		h.Add("Vary", "Accept-Encoding")
		accepted := acceptedCodings(r.Header.Get("Accept-Encoding"))
		for i, c := range codings {
			if !accepted[c.name] {
				continue
			}
			if b := a.encoded(f, i); b != nil {
				body, etag = b, f.etag+"-"+c.name
				h.Set("Content-Encoding", c.name)
				break
			}
		}
	}
	h.Set("ETag", strconv.Quote(etag))
	if h.Get("Content-Encoding") != "" && r.Header.Get("Range") == "" {
		// ServeContent leaves the length out of encoded answers.
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	// ServeContent answers If-None-Match (304) and ranges; the zero time
	// sends no Last-Modified, which embedded files do not have.
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(body))
}

// acceptedCodings parses Accept-Encoding: the codings named with a
// non-zero q. "*" is not honoured: a client that sends only that gets the
// plain file, which every client can read.
func acceptedCodings(header string) map[string]bool {
	out := map[string]bool{}
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			out[strings.ToLower(strings.TrimSpace(name))] = true
		}
	}
	return out
}

// handler serves the files of fsys under prefix.
func (a *assets) handler(prefix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		f, err := a.open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		a.serve(w, r, f, staticCacheControl)
	}
}
