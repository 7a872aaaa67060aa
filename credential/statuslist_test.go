package credential

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deterministicSigner signs with RFC 6979 nonces (crypto/ecdsa does so when
// given no randomness), so that golden vectors pin signatures too.
type deterministicSigner struct{ k *ecdsa.PrivateKey }

func (s deterministicSigner) Public() crypto.PublicKey { return &s.k.PublicKey }
func (s deterministicSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(nil, digest, opts)
}

// statusFixture is a fixed list: the draft's 2-bit example in its first 12
// entries, then a revoked and a suspended entry further on.
type statusFixture struct {
	key    *ecdsa.PrivateKey
	kid    []byte
	claims StatusListClaims
}

var draftExample = []StatusValue{1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3}

func newStatusFixture(t testing.TB) statusFixture {
	t.Helper()
	f := statusFixture{key: loadKey(t, "issuer")}
	var err error
	if f.kid, err = KeyID(&f.key.PublicKey); err != nil {
		t.Fatal(err)
	}
	l, err := NewStatusList(1024)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range draftExample {
		l.Set(uint64(i), v)
	}
	l.Set(40213%1024, StatusRevoked)
	l.Set(1000, StatusSuspended)
	iat := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	f.claims = StatusListClaims{Subject: "https://epermit.example/s/12", IssuedAt: iat,
		Expiry: iat.Add(24 * time.Hour), TTL: 5 * time.Minute, List: l}
	return f
}

func (f statusFixture) keys(kid string) (*ecdsa.PublicKey, bool) {
	if kid == base64.RawURLEncoding.EncodeToString(f.kid) {
		return &f.key.PublicKey, true
	}
	return nil, false
}

func (f statusFixture) sign(t testing.TB) (cwt, jwt []byte) {
	t.Helper()
	s := deterministicSigner{f.key}
	cwt, err := SignStatusListCWT(f.claims, nil, f.kid, s)
	if err != nil {
		t.Fatal(err)
	}
	if jwt, err = SignStatusListJWT(f.claims, nil, f.kid, s); err != nil {
		t.Fatal(err)
	}
	return cwt, jwt
}

func TestStatusListBits(t *testing.T) {
	l, _ := NewStatusList(12)
	for i, v := range draftExample {
		if err := l.Set(uint64(i), v); err != nil {
			t.Fatal(err)
		}
	}
	// The draft's example: entry i at bits 2*(i%4) of byte i/4, LSB first.
	if got := hex.EncodeToString(l.Bytes()); got != "c944f9" {
		t.Fatalf("bytes = %s, want c944f9 (draft-ietf-oauth-status-list example)", got)
	}
	for i, v := range draftExample {
		if got, ok := l.Get(uint64(i)); !ok || got != v {
			t.Errorf("Get(%d) = %d, %v; want %d", i, got, ok, v)
		}
	}
	for _, tc := range []struct {
		name string
		idx  uint64
		v    StatusValue
		ok   bool
	}{
		{"last entry", 11, 0, true},
		{"just past", 12, 1, false},
		{"far past", 1 << 40, 1, false},
		{"value over 2 bits", 3, 4, false},
	} {
		err := l.Set(tc.idx, tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("%s: Set = %v", tc.name, err)
		}
		if _, ok := l.Get(tc.idx); ok != (tc.idx < l.Len()) {
			t.Errorf("%s: Get ok = %v", tc.name, ok)
		}
	}
	// Setting an entry leaves its neighbours alone.
	l.Set(5, StatusSuspended)
	for i, v := range draftExample {
		if i != 5 && i != 11 {
			if got, _ := l.Get(uint64(i)); got != v {
				t.Errorf("neighbour %d changed to %d", i, got)
			}
		}
	}
	if _, err := NewStatusList(MaxStatusListBytes*4 + 1); err == nil {
		t.Error("a list over the bound was made")
	}
}

// The draft's JWT example "lst" decompresses to its example bytes, and our
// compressor's output (other bytes: compress/flate differs from the draft's
// zlib) decompresses to the same.
func TestStatusListDraftLst(t *testing.T) {
	lst, _ := base64.RawURLEncoding.DecodeString("eNo76fITAAPfAgc")
	l, err := DecompressStatusList(lst)
	if err != nil || hex.EncodeToString(l.Bytes()) != "c944f9" {
		t.Fatalf("decompress = %v, %v", l, err)
	}
	again, err := l.Compress()
	if err != nil {
		t.Fatal(err)
	}
	if back, err := DecompressStatusList(again); err != nil || !bytes.Equal(back.Bytes(), l.Bytes()) {
		t.Fatalf("round trip = %v, %v", back, err)
	}
}

type statusGolden struct {
	Description string `json:"description"`
	Kid         string `json:"kid"`
	Sub         string `json:"sub"`
	IAT         int64  `json:"iat"`
	Exp         int64  `json:"exp"`
	TTL         int64  `json:"ttl"`
	Size        uint64 `json:"size"`
	// Entries lists every entry that is not 0 (valid), by index.
	Entries map[uint64]StatusValue `json:"entries"`
	LstHex  string                 `json:"lst_hex"`
	CWTHex  string                 `json:"cwt_hex"`
	JWT     string                 `json:"jwt"`
}

// TestStatusListGolden pins both token forms byte for byte: fixed key, time
// and list, deterministic (RFC 6979) signatures. Regenerate with -update
// only when the encoding is meant to change.
func TestStatusListGolden(t *testing.T) {
	f := newStatusFixture(t)
	cwt, jwt := f.sign(t)
	lst, _ := f.claims.List.Compress()
	path := filepath.Join("testdata", "golden-statuslist.json")
	if *update {
		g := statusGolden{
			Description: "Status list 12 signed by testdata/issuer-key.pem in both forms of spec §5, " +
				"with RFC 6979 deterministic ES256 signatures. Entries not listed are 0 (valid).",
			Kid: base64.RawURLEncoding.EncodeToString(f.kid), Sub: f.claims.Subject, IAT: f.claims.IssuedAt.Unix(),
			Exp: f.claims.Expiry.Unix(), TTL: int64(f.claims.TTL / time.Second), Size: f.claims.List.Len(),
			Entries: map[uint64]StatusValue{}, LstHex: hex.EncodeToString(lst), CWTHex: hex.EncodeToString(cwt), JWT: string(jwt),
		}
		for i := range f.claims.List.Len() {
			if v, _ := f.claims.List.Get(i); v != 0 {
				g.Entries[i] = v
			}
		}
		b, _ := json.MarshalIndent(g, "", " ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestStatusListGolden -update)", err)
	}
	var g statusGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(lst); got != g.LstHex {
		t.Errorf("lst = %s\nwant %s", got, g.LstHex)
	}
	if got := hex.EncodeToString(cwt); got != g.CWTHex {
		t.Errorf("CWT = %s\nwant %s", got, g.CWTHex)
	}
	if string(jwt) != g.JWT {
		t.Errorf("JWT = %s\nwant %s", jwt, g.JWT)
	}
	// The golden tokens parse to the golden entries, independently of the
	// fixture's list.
	goldenCWT, _ := hex.DecodeString(g.CWTHex)
	for form, tok := range map[string][]byte{"cwt": goldenCWT, "jwt": []byte(g.JWT)} {
		parse := ParseStatusListCWT
		if form == "jwt" {
			parse = ParseStatusListJWT
		}
		p, err := parse(tok, f.keys)
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		if p.Kid != g.Kid || p.Subject != g.Sub || p.IssuedAt.Unix() != g.IAT || p.Expiry.Unix() != g.Exp ||
			p.TTL != time.Duration(g.TTL)*time.Second || p.List.Len() != g.Size {
			t.Errorf("%s: claims %+v", form, p)
		}
		for i := range p.List.Len() {
			if v, _ := p.List.Get(i); v != g.Entries[i] {
				t.Errorf("%s: entry %d = %d, want %d", form, i, v, g.Entries[i])
			}
		}
	}
}

// Both forms carry the same list, with random content and signatures.
func TestStatusListFormsAgree(t *testing.T) {
	f := newStatusFixture(t)
	l, _ := NewStatusList(100_003)
	var rnd [100_003]byte
	rand.Read(rnd[:])
	for i, b := range rnd {
		l.Set(uint64(i), StatusValue(b%3))
	}
	f.claims.List = l
	lst, _ := l.Compress()
	cwt, err := SignStatusListCWT(f.claims, lst, f.kid, f.key)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := SignStatusListJWT(f.claims, lst, f.kid, f.key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseStatusListCWT(cwt, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseStatusListJWT(jwt, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.List.Bytes(), b.List.Bytes()) || !bytes.Equal(a.List.Bytes(), l.Bytes()) {
		t.Fatal("the CWT and JWT forms decode to different lists")
	}
	if a.StatusListClaims.Subject != b.Subject || !a.IssuedAt.Equal(b.IssuedAt) || !a.Expiry.Equal(b.Expiry) || a.TTL != b.TTL || a.Kid != b.Kid {
		t.Fatalf("claims differ: %+v vs %+v", a, b)
	}
}

// signRawCWT signs any protected header and payload as a status list token
// would be, to make tokens that are well signed but wrong inside.
func signRawCWT(t testing.TB, f statusFixture, protected, payload []byte) []byte {
	t.Helper()
	sig, err := signSign1(es256, f.key, &f.key.PublicKey, protected, payload)
	if err != nil {
		t.Fatal(err)
	}
	return appendSign1(nil, protected, f.kid, payload, sig)
}

// cwtPayload encodes a payload with the given claims; nil values are left
// out, so tests can drop or replace any claim.
func cwtPayload(sub any, iat, exp, ttl any, sl []byte) []byte {
	n := 0
	for _, v := range []any{sub, iat, exp, ttl} {
		if v != nil {
			n++
		}
	}
	if sl != nil {
		n++
	}
	b := appendHead(nil, majorMap, uint64(n))
	add := func(key int64, v any) {
		switch v := v.(type) {
		case nil:
			return
		case string:
			b = appendInt(b, key)
			b = appendText(b, v)
		case int64:
			b = appendInt(b, key)
			b = appendInt(b, v)
		case []byte:
			b = appendInt(b, key)
			b = append(b, v...)
		}
	}
	add(claimSub, sub)
	add(claimExp, exp)
	add(claimIAT, iat)
	if sl != nil {
		b = appendInt(b, claimStatusList)
		b = append(b, sl...)
	}
	add(claimTTL, ttl)
	return b
}

func slMember(bits int64, lst []byte) []byte {
	b := appendHead(nil, majorMap, 2)
	b = appendText(b, "lst")
	b = appendBytes(b, lst)
	b = appendText(b, "bits")
	return appendInt(b, bits)
}

func zlibOf(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func TestParseStatusListCWTRefuses(t *testing.T) {
	f := newStatusFixture(t)
	good, _ := f.sign(t)
	lst, _ := f.claims.List.Compress()
	iat, exp := f.claims.IssuedAt.Unix(), f.claims.Expiry.Unix()
	sub := f.claims.Subject
	bomb := zlibOf(t, make([]byte, MaxStatusListBytes+1))
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKid, _ := KeyID(&otherKey.PublicKey)
	otherSigned, _ := SignStatusListCWT(f.claims, lst, otherKid, otherKey)
	tampered := bytes.Clone(good)
	tampered[bytes.Index(tampered, []byte("epermit"))] ^= 1 // the sub, inside the signed payload
	es384 := appendText([]byte{majorMap<<5 | 2, hdrAlg, majorNeg<<5 | 24, 34, hdrTyp}, StatusListCWTType)
	noTyp := []byte{majorMap<<5 | 1, hdrAlg, majorNeg<<5 | 6}
	wrongTyp := appendText([]byte{majorMap<<5 | 2, hdrAlg, majorNeg<<5 | 6, hdrTyp}, "application/cwt")

	for _, tc := range []struct {
		name string
		tok  []byte
		want error
	}{
		{"tampered payload", tampered, ErrBadSignature},
		{"unknown kid", otherSigned, ErrUnknownKey},
		{"ES384 header", signRawCWT(t, f, es384, cwtPayload(sub, iat, exp, int64(300), slMember(2, lst))), ErrAlgorithm},
		{"no typ", signRawCWT(t, f, noTyp, cwtPayload(sub, iat, exp, int64(300), slMember(2, lst))), ErrStatusList},
		{"wrong typ", signRawCWT(t, f, wrongTyp, cwtPayload(sub, iat, exp, int64(300), slMember(2, lst))), ErrStatusList},
		{"bits 1", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, int64(300), slMember(1, lst))), ErrFormat},
		{"bits 4", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, int64(300), slMember(4, lst))), ErrFormat},
		{"no sub", signRawCWT(t, f, statusListProtected(es256), cwtPayload(nil, iat, exp, int64(300), slMember(2, lst))), ErrStatusList},
		{"no iat", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, nil, exp, int64(300), slMember(2, lst))), ErrStatusList},
		{"no exp", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, nil, int64(300), slMember(2, lst))), ErrStatusList},
		{"no ttl", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, nil, slMember(2, lst))), ErrStatusList},
		{"ttl 0", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, int64(0), slMember(2, lst))), ErrStatusList},
		{"exp before iat", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, iat-1, int64(300), slMember(2, lst))), ErrStatusList},
		{"no status_list", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, int64(300), nil)), ErrStatusList},
		{"sub not text", signRawCWT(t, f, statusListProtected(es256), cwtPayload(int64(12), iat, exp, int64(300), slMember(2, lst))), ErrFormat},
		{"zip bomb", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, int64(300), slMember(2, bomb))), ErrStatusList},
		{"lst not zlib", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, int64(300), slMember(2, []byte{1, 2, 3}))), ErrStatusList},
		{"bytes after the zlib stream", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, int64(300), slMember(2, append(bytes.Clone(lst), 0)))), ErrStatusList},
		{"empty list", signRawCWT(t, f, statusListProtected(es256), cwtPayload(sub, iat, exp, int64(300), slMember(2, zlibOf(t, nil)))), ErrStatusList},
		{"truncated", good[:len(good)-1], ErrFormat},
		{"trailing byte", append(bytes.Clone(good), 0), ErrFormat},
		{"JWT given to the CWT parser", []byte("eyJhbGciOiJFUzI1NiJ9.e30.AA"), ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseStatusListCWT(tc.tok, f.keys)
			if err == nil || p != nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errors.Is(err, ErrStatusList) || !errors.Is(err, tc.want) {
				t.Fatalf("error %v; want %v within ErrStatusList", err, tc.want)
			}
		})
	}
}

// signRawJWT signs any header and claims JSON with the fixture key.
func signRawJWT(t testing.TB, f statusFixture, header, claims string) []byte {
	t.Helper()
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	d := sha256.Sum256([]byte(in))
	sig, err := signES256(f.key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(in + "." + enc.EncodeToString(sig))
}

func TestParseStatusListJWTRefuses(t *testing.T) {
	f := newStatusFixture(t)
	_, good := f.sign(t)
	lst, _ := f.claims.List.Compress()
	kid := base64.RawURLEncoding.EncodeToString(f.kid)
	hdr := `{"alg":"ES256","typ":"statuslist+jwt","kid":"` + kid + `"}`
	l64 := base64.RawURLEncoding.EncodeToString(lst)
	claims := func(extra string) string {
		return `{"sub":"https://epermit.example/s/12","iat":1798761600,"exp":1798848000,"ttl":300` + extra + `}`
	}
	sl := `,"status_list":{"bits":2,"lst":"` + l64 + `"}`
	bomb := base64.RawURLEncoding.EncodeToString(zlibOf(t, make([]byte, MaxStatusListBytes+1)))
	parts := strings.Split(string(good), ".")
	tamperedClaims := base64.RawURLEncoding.EncodeToString([]byte(claims(`,"status_list":{"bits":2,"lst":"eNo76fITAAPfAgc"}`)))

	if _, err := ParseStatusListJWT(signRawJWT(t, f, hdr, claims(sl)), f.keys); err != nil {
		t.Fatalf("the hand-made good token is refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		tok  []byte
		want error
	}{
		{"tampered claims", []byte(parts[0] + "." + tamperedClaims + "." + parts[2]), ErrBadSignature},
		{"signature of another token", []byte(parts[0] + "." + parts[1] + "." + strings.Split(string(signRawJWT(t, f, hdr, claims(sl+`,"x":1`))), ".")[2]), ErrBadSignature},
		{"unknown kid", signRawJWT(t, f, `{"alg":"ES256","typ":"statuslist+jwt","kid":"AAAAAAAAAAA"}`, claims(sl)), ErrUnknownKey},
		{"no kid", signRawJWT(t, f, `{"alg":"ES256","typ":"statuslist+jwt"}`, claims(sl)), ErrUnknownKey},
		{"alg none", signRawJWT(t, f, `{"alg":"none","typ":"statuslist+jwt","kid":"`+kid+`"}`, claims(sl)), ErrAlgorithm},
		{"alg HS256", signRawJWT(t, f, `{"alg":"HS256","typ":"statuslist+jwt","kid":"`+kid+`"}`, claims(sl)), ErrAlgorithm},
		{"wrong typ", signRawJWT(t, f, `{"alg":"ES256","typ":"JWT","kid":"`+kid+`"}`, claims(sl)), ErrStatusList},
		{"crit", signRawJWT(t, f, `{"alg":"ES256","typ":"statuslist+jwt","kid":"`+kid+`","crit":["x"],"x":1}`, claims(sl)), ErrStatusList},
		{"duplicate alg", signRawJWT(t, f, `{"alg":"ES256","alg":"none","typ":"statuslist+jwt","kid":"`+kid+`"}`, claims(sl)), ErrStatusList},
		{"duplicate sub", signRawJWT(t, f, hdr, claims(sl+`,"sub":"x"`)), ErrStatusList},
		{"bits 1", signRawJWT(t, f, hdr, claims(`,"status_list":{"bits":1,"lst":"`+l64+`"}`)), ErrStatusList},
		{"no status_list", signRawJWT(t, f, hdr, claims("")), ErrStatusList},
		{"no lst", signRawJWT(t, f, hdr, claims(`,"status_list":{"bits":2}`)), ErrStatusList},
		{"no ttl", signRawJWT(t, f, hdr, `{"sub":"s","iat":1,"exp":2`+sl+`}`), ErrStatusList},
		{"fractional iat", signRawJWT(t, f, hdr, `{"sub":"s","iat":1.5,"exp":2,"ttl":300`+sl+`}`), ErrStatusList},
		{"lst padded", signRawJWT(t, f, hdr, claims(`,"status_list":{"bits":2,"lst":"`+base64.URLEncoding.EncodeToString(lst)+`"}`)), ErrStatusList},
		{"zip bomb", signRawJWT(t, f, hdr, claims(`,"status_list":{"bits":2,"lst":"`+bomb+`"}`)), ErrStatusList},
		{"two parts", []byte(parts[0] + "." + parts[1]), ErrStatusList},
		{"four parts", append(bytes.Clone(good), ".x"...), ErrStatusList},
		{"claims not an object", signRawJWT(t, f, hdr, `[1]`), ErrStatusList},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseStatusListJWT(tc.tok, f.keys)
			if err == nil || p != nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errors.Is(err, ErrStatusList) || !errors.Is(err, tc.want) {
				t.Fatalf("error %v; want %v within ErrStatusList", err, tc.want)
			}
		})
	}
}

// The streaming Sig_structure digest equals the stack-buffer one.
func TestBigSigStructureDigest(t *testing.T) {
	for _, n := range []int{0, 23, 24, 255, 256, 600} {
		payload := bytes.Repeat([]byte{0xa5}, n)
		h := sha256.New()
		writeSigStructure(h, statusListProtected(es256), payload)
		if d := sigStructureDigest(statusListProtected(es256), payload); !bytes.Equal(h.Sum(nil), d[:]) {
			t.Errorf("payload of %d bytes: digests differ", n)
		}
	}
}

func TestSignStatusListRefuses(t *testing.T) {
	f := newStatusFixture(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name   string
		edit   func(c *StatusListClaims)
		signer crypto.Signer
	}{
		{"no sub", func(c *StatusListClaims) { c.Subject = "" }, f.key},
		{"exp not after iat", func(c *StatusListClaims) { c.Expiry = c.IssuedAt }, f.key},
		{"ttl under a second", func(c *StatusListClaims) { c.TTL = time.Millisecond }, f.key},
		{"no list", func(c *StatusListClaims) { c.List = nil }, f.key},
		{"kid of another key", func(c *StatusListClaims) {}, other},
	} {
		c := f.claims
		tc.edit(&c)
		if _, err := SignStatusListCWT(c, nil, f.kid, tc.signer); err == nil {
			t.Errorf("%s: CWT signed", tc.name)
		}
		if _, err := SignStatusListJWT(c, nil, f.kid, tc.signer); err == nil {
			t.Errorf("%s: JWT signed", tc.name)
		}
	}
}

func FuzzParseStatusListCWT(f *testing.F) {
	fx := newStatusFixture(f)
	cwt, _ := fx.sign(f)
	f.Add(cwt)
	f.Add(cwt[:len(cwt)/2])
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseStatusListCWT(b, fx.keys)
		if err != nil {
			if !errors.Is(err, ErrStatusList) || p != nil {
				t.Fatalf("error %v outside ErrStatusList, or a token with it", err)
			}
			return
		}
		if p.List.Len() == 0 || p.TTL < time.Second || !p.Expiry.After(p.IssuedAt) {
			t.Fatalf("accepted an unusable token: %+v", p)
		}
	})
}

func FuzzParseStatusListJWT(f *testing.F) {
	fx := newStatusFixture(f)
	_, jwt := fx.sign(f)
	f.Add(string(jwt))
	f.Add(string(jwt[:len(jwt)/2]))
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseStatusListJWT([]byte(s), fx.keys)
		if err != nil {
			if !errors.Is(err, ErrStatusList) || p != nil {
				t.Fatalf("error %v outside ErrStatusList, or a token with it", err)
			}
			return
		}
		if p.List.Len() == 0 || p.TTL < time.Second || !p.Expiry.After(p.IssuedAt) {
			t.Fatalf("accepted an unusable token: %+v", p)
		}
	})
}

// The signature check comes before the payload is read, so mutated tokens
// rarely reach the claims parser and the decompressor: fuzz those directly.
func FuzzStatusListPayload(f *testing.F) {
	fx := newStatusFixture(f)
	lst, _ := fx.claims.List.Compress()
	f.Add(cwtPayload(fx.claims.Subject, int64(1), int64(2), int64(300), slMember(2, lst)))
	f.Add(cwtPayload("s", int64(1), int64(2), int64(300), slMember(2, zlibOf(f, make([]byte, 5000)))))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c StatusListClaims
		lst, err := parseStatusListPayload(b, &c)
		if err != nil {
			if !errors.Is(err, ErrStatusList) {
				t.Fatalf("error %v outside ErrStatusList", err)
			}
			return
		}
		if l, err := DecompressStatusList(lst); err == nil && (l.Len() == 0 || len(l.Bytes()) > MaxStatusListBytes) {
			t.Fatalf("decompressed to %d entries", l.Len())
		}
	})
}
