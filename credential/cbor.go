package credential

// Why a hand-written CBOR reader and writer rather than fxamacker/cbor or
// go-cose (both of which the tests use as independent references):
//
//   - Spec §4 check 3 is a precise list (well-formed, ≤ 2048 bytes, definite
//     lengths, no duplicate keys, nesting ≤ 8) whose failures must all come
//     back as one typed `format` error. Owning the reader makes each rule a
//     line of code with its own error kind instead of a mapping from another
//     library's option set and error strings.
//   - The verify path decodes every byte once, straight into typed fields,
//     with no reflection and no intermediate map[any]any: the benchmark goal
//     is full verification within 1.10× of two bare P-256 verifications.
//   - Every length is checked against the bytes that remain before anything
//     is sliced or allocated, so memory is bounded by the input (which is
//     itself bounded at 2048 bytes), which the fuzz targets rely on.
//   - The formats use a handful of CBOR types; the writer emits them in core
//     deterministic encoding (RFC 8949 §4.2.1) by construction, and a test
//     checks the bytes against fxamacker/cbor's CoreDetEncOptions.

import (
	"strconv"
	"unicode/utf8"
)

const (
	// maxCBORSize is the spec §4 check 3 bound on the presentation; it also
	// bounds a credential parsed on its own, since it must fit in one.
	maxCBORSize = 2048
	// maxNesting bounds arrays, maps and tags nested inside one CBOR data
	// item (each embedded byte-string document counts from zero again).
	maxNesting = 8
)

// CBOR major types.
const (
	majorUint  = 0
	majorNeg   = 1
	majorBytes = 2
	majorText  = 3
	majorArray = 4
	majorMap   = 5
	majorTag   = 6
	majorOther = 7
)

// CBOR simple values (major type 7) the formats use.
const (
	simpleFalse = 20
	simpleTrue  = 21
	simpleNull  = 22
)

// cborReader reads one CBOR data item strictly. Methods return *FormatError
// (check 3) on any failure.
type cborReader struct {
	b     []byte
	off   int
	depth int
	str   string // copy of b made by the first readString
}

// head reads an initial byte and its argument. It rejects what is not
// well-formed (reserved additional information, truncation, a stray break,
// a two-byte simple value under 32) and indefinite lengths.
func (r *cborReader) head() (major, ai byte, arg uint64, err error) {
	if r.off >= len(r.b) {
		return 0, 0, 0, cborErr(ErrCBOR, "unexpected end of data")
	}
	ib := r.b[r.off]
	r.off++
	major, ai = ib>>5, ib&0x1f
	switch {
	case ai < 24:
		arg = uint64(ai)
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(r.b)-r.off < n {
			return 0, 0, 0, cborErr(ErrCBOR, "unexpected end of data")
		}
		for _, c := range r.b[r.off : r.off+n] {
			arg = arg<<8 | uint64(c)
		}
		r.off += n
	case ai == 31:
		switch major {
		case majorBytes, majorText, majorArray, majorMap:
			return 0, 0, 0, cborErr(ErrIndefiniteLength, "")
		case majorOther:
			return 0, 0, 0, cborErr(ErrCBOR, "unexpected break")
		}
		return 0, 0, 0, cborErr(ErrCBOR, "reserved additional information 31")
	default:
		return 0, 0, 0, cborErr(ErrCBOR, "reserved additional information 28-30")
	}
	if major == majorOther && ai == 24 && arg < 32 {
		return 0, 0, 0, cborErr(ErrCBOR, "simple value under 32 in two bytes")
	}
	return major, ai, arg, nil
}

func (r *cborReader) remaining() uint64 { return uint64(len(r.b) - r.off) }

// done fails unless the whole input was one data item.
func (r *cborReader) done() error {
	if r.off != len(r.b) {
		return cborErr(ErrCBOR, "trailing bytes after the data item")
	}
	return nil
}

func typeErr(want string) error { return cborErr(ErrCBOR, "expected "+want) }

func (r *cborReader) readUint() (uint64, error) {
	major, _, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if major != majorUint {
		return 0, typeErr("unsigned integer")
	}
	return arg, nil
}

// readInt reads major type 0 or 1 into an int64.
func (r *cborReader) readInt() (int64, error) {
	major, _, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	return intValue(major, arg)
}

func intValue(major byte, arg uint64) (int64, error) {
	if major != majorUint && major != majorNeg {
		return 0, typeErr("integer")
	}
	if arg > 1<<63-1 {
		return 0, cborErr(ErrCBOR, "integer out of int64 range")
	}
	if major == majorNeg {
		return -1 - int64(arg), nil
	}
	return int64(arg), nil
}

// readBytes returns a byte string as a subslice of the input (no copy).
func (r *cborReader) readBytes() ([]byte, error) {
	major, _, arg, err := r.head()
	if err != nil {
		return nil, err
	}
	if major != majorBytes {
		return nil, typeErr("byte string")
	}
	return r.take(arg)
}

// readText returns a text string's bytes, checked to be UTF-8, as a subslice.
func (r *cborReader) readText() ([]byte, error) {
	major, _, arg, err := r.head()
	if err != nil {
		return nil, err
	}
	if major != majorText {
		return nil, typeErr("text string")
	}
	return r.takeText(arg)
}

// readString returns a text string as a Go string. All strings of one
// document share a single copy of it: one allocation instead of one per
// field, and the result does not alias the caller's bytes.
func (r *cborReader) readString() (string, error) {
	s, err := r.readText()
	if err != nil {
		return "", err
	}
	if len(s) == 0 {
		return "", nil
	}
	if r.str == "" {
		r.str = string(r.b)
	}
	return r.str[r.off-len(s) : r.off], nil
}

func (r *cborReader) take(n uint64) ([]byte, error) {
	if n > r.remaining() {
		return nil, cborErr(ErrCBOR, "string runs past the end of data")
	}
	s := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

func (r *cborReader) takeText(n uint64) ([]byte, error) {
	s, err := r.take(n)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(s) {
		return nil, cborErr(ErrCBOR, "text string is not UTF-8")
	}
	return s, nil
}

func (r *cborReader) enter() error {
	r.depth++
	if r.depth > maxNesting {
		return cborErr(ErrTooDeep, "")
	}
	return nil
}

func (r *cborReader) leave() { r.depth-- }

// readArray reads an array head and enters it; the caller reads the
// elements and calls leave.
func (r *cborReader) readArray() (int, error) {
	major, _, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if major != majorArray {
		return 0, typeErr("array")
	}
	return r.container(arg, 1)
}

// eachEntry reads a map: for each entry it reads the key, refusing
// duplicates and keys of other types than integer and string, and calls fn,
// which must read or skip the value. The first error stops the walk.
func (r *cborReader) eachEntry(fn func(k mapKey) error) error {
	major, _, arg, err := r.head()
	if err != nil {
		return err
	}
	if major != majorMap {
		return typeErr("map")
	}
	n, err := r.container(arg, 2)
	if err != nil {
		return err
	}
	var seen keySet
	for ; n > 0; n-- {
		k, err := r.readKey(&seen)
		if err != nil {
			return err
		}
		if err := fn(k); err != nil {
			return err
		}
	}
	r.leave()
	return nil
}

// container checks that count items of at least one byte each can fit, so a
// hostile count never drives a loop or an allocation, and enters.
func (r *cborReader) container(count, per uint64) (int, error) {
	if count > r.remaining()/per {
		return 0, cborErr(ErrCBOR, "more items than bytes left")
	}
	if err := r.enter(); err != nil {
		return 0, err
	}
	return int(count), nil
}

// readTag reads a tag number and enters it (tags count towards nesting, as
// in fxamacker/cbor's MaxNestedLevels).
func (r *cborReader) readTag(want uint64) error {
	major, _, arg, err := r.head()
	if err != nil {
		return err
	}
	if major != majorTag || arg != want {
		return typeErr("tag " + strconv.FormatUint(want, 10))
	}
	return r.enter()
}

// readBool reads true or false.
func (r *cborReader) readBool() (bool, error) {
	major, ai, _, err := r.head()
	if err != nil {
		return false, err
	}
	if major == majorOther && (ai == simpleTrue || ai == simpleFalse) {
		return ai == simpleTrue, nil
	}
	return false, typeErr("bool")
}

// peek returns the major type and additional information of the next item
// without consuming it.
func (r *cborReader) peek() (major, ai byte, err error) {
	if r.off >= len(r.b) {
		return 0, 0, cborErr(ErrCBOR, "unexpected end of data")
	}
	return r.b[r.off] >> 5, r.b[r.off] & 0x1f, nil
}

// mapKey is a map key by value: integer keys compare by value whatever
// their encoding width, string keys by content. Keys of other types are
// refused: COSE labels and CWT claim keys are integers or text, and
// comparing arbitrary keys for duplicates is where decoders disagree.
type mapKey struct {
	major byte
	arg   uint64
	str   []byte
}

func (k mapKey) equal(o mapKey) bool {
	if k.major != o.major {
		return false
	}
	if k.major == majorUint || k.major == majorNeg {
		return k.arg == o.arg
	}
	return string(k.str) == string(o.str)
}

// intKey reports the key as an int64 label, if it is an integer in range.
func (k mapKey) intKey() (int64, bool) {
	if (k.major != majorUint && k.major != majorNeg) || k.arg > 1<<63-1 {
		return 0, false
	}
	if k.major == majorNeg {
		return -1 - int64(k.arg), true
	}
	return int64(k.arg), true
}

// textKey reports whether the key is the text s.
func (k mapKey) textKey(s string) bool { return k.major == majorText && string(k.str) == s }

// keySet detects duplicate keys within one map. Small integer keys (all
// the COSE labels and most claim keys here) are a bit in a mask; the few
// others are compared linearly, spilling to the heap only past three. It is
// cheap to zero because every map read declares one.
type keySet struct {
	ints uint64 // integer keys -32..31, bit key+32
	n    int
	few  [3]mapKey
	more []mapKey
}

func (s *keySet) add(k mapKey) error {
	if v, ok := k.intKey(); ok && v >= -32 && v < 32 {
		bit := uint64(1) << (v + 32)
		if s.ints&bit != 0 {
			return cborErr(ErrDuplicateKey, "")
		}
		s.ints |= bit
		return nil
	}
	for i := 0; i < s.n && i < len(s.few); i++ {
		if s.few[i].equal(k) {
			return cborErr(ErrDuplicateKey, "")
		}
	}
	for _, o := range s.more {
		if o.equal(k) {
			return cborErr(ErrDuplicateKey, "")
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = k
	} else {
		s.more = append(s.more, k)
	}
	s.n++
	return nil
}

// readKey reads a map key, refuses types other than integer, byte or text
// string, and records it in seen to refuse duplicates.
func (r *cborReader) readKey(seen *keySet) (mapKey, error) {
	major, _, arg, err := r.head()
	if err != nil {
		return mapKey{}, err
	}
	k := mapKey{major: major, arg: arg}
	switch major {
	case majorUint, majorNeg:
	case majorBytes:
		k.str, err = r.take(arg)
	case majorText:
		k.str, err = r.takeText(arg)
	default:
		return mapKey{}, cborErr(ErrCBOR, "map key is not an integer or string")
	}
	if err != nil {
		return mapKey{}, err
	}
	return k, seen.add(k)
}

// skip reads and discards one data item, checking it with the same rules:
// unknown claims and header parameters are ignored (RFC 8392 §3) but must
// still be well-formed, definite, duplicate-free and shallow.
func (r *cborReader) skip() error {
	major, _, arg, err := r.head()
	if err != nil {
		return err
	}
	switch major {
	case majorBytes:
		_, err = r.take(arg)
	case majorText:
		_, err = r.takeText(arg)
	case majorArray:
		var n int
		if n, err = r.container(arg, 1); err != nil {
			return err
		}
		for ; n > 0; n-- {
			if err := r.skip(); err != nil {
				return err
			}
		}
		r.leave()
	case majorMap:
		var n int
		if n, err = r.container(arg, 2); err != nil {
			return err
		}
		var seen keySet
		for ; n > 0; n-- {
			if _, err := r.readKey(&seen); err != nil {
				return err
			}
			if err := r.skip(); err != nil {
				return err
			}
		}
		r.leave()
	case majorTag:
		if err = r.enter(); err != nil {
			return err
		}
		if err = r.skip(); err != nil {
			return err
		}
		r.leave()
	}
	return err
}

// The writer: append-style helpers that always use the shortest argument
// encoding, which with keys emitted in sorted order is core deterministic.

func appendHead(b []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(b, m|byte(arg))
	case arg <= 0xff:
		return append(b, m|24, byte(arg))
	case arg <= 0xffff:
		return append(b, m|25, byte(arg>>8), byte(arg))
	case arg <= 0xffffffff:
		return append(b, m|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	default:
		return append(b, m|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32),
			byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendHead(b, majorNeg, uint64(-1-v))
	}
	return appendHead(b, majorUint, uint64(v))
}

func appendBytes(b, s []byte) []byte {
	return append(appendHead(b, majorBytes, uint64(len(s))), s...)
}

func appendText(b []byte, s string) []byte {
	return append(appendHead(b, majorText, uint64(len(s))), s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, majorOther<<5|simpleTrue)
	}
	return append(b, majorOther<<5|simpleFalse)
}
