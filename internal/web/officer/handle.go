package officer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"time"

	"github.com/epermit/epermit/internal/web/httpx"
	"github.com/epermit/epermit/permit"
)

// Portrait handles: the lookup page names a portrait by the person's store
// id sealed with a key derived from the officer's session token, valid for
// handleTTL. The URL is opaque, cannot be guessed or used outside that
// session, and tells nothing even if logged; and since every replica sees
// the token in the cookie, any of them opens it.
const handleTTL = 15 * time.Minute

func handleAEAD(session string) cipher.AEAD {
	k := sha256.Sum256([]byte("epermit portrait handle\x00" + session))
	b, _ := aes.NewCipher(k[:])
	g, _ := cipher.NewGCM(b)
	return g
}

func sealHandle(personID int64, session string) string {
	plain := binary.BigEndian.AppendUint64(nil, uint64(personID))
	plain = binary.BigEndian.AppendUint64(plain, uint64(time.Now().Add(handleTTL).Unix()))
	g := handleAEAD(session)
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(g.Seal(nonce, nonce, plain, nil))
}

func openHandle(h, session string) (int64, bool) {
	g := handleAEAD(session)
	b, err := base64.RawURLEncoding.DecodeString(h)
	n := g.NonceSize()
	if err != nil || len(b) < n {
		return 0, false
	}
	plain, err := g.Open(nil, b[:n], b[n:], nil)
	if err != nil || len(plain) != 16 || time.Now().Unix() > int64(binary.BigEndian.Uint64(plain[8:])) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(plain[:8])), true
}

func (s *Handler) consolePortrait(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	id, ok := openHandle(r.PathValue("handle"), c.session)
	if !ok {
		httpx.WriteProblem(w, permit.ECodeNotFound, "no such portrait")
		return
	}
	img, err := s.a.PersonPortrait(r.Context(), id)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	httpx.WriteImage(w, img)
}
