package credential

import (
	"bytes"
	"crypto/sha256"
	"testing"
)

// Builders for hand-made, correctly signed presentations with one defect
// each, so a strictness test fails for the defect under test and nothing
// else.

// rawEntry is one map entry as encoded bytes.
type rawEntry struct{ key, val []byte }

// rawEntries splits an encoded map into its entries.
func rawEntries(t testing.TB, m []byte) []rawEntry {
	t.Helper()
	r := cborReader{b: m}
	major, _, arg, err := r.head()
	if err != nil || major != majorMap {
		t.Fatalf("not a map: %v", err)
	}
	n, err := r.container(arg, 2)
	if err != nil {
		t.Fatal(err)
	}
	var out []rawEntry
	var seen keySet
	for ; n > 0; n-- {
		start := r.off
		if _, err := r.readKey(&seen); err != nil {
			t.Fatal(err)
		}
		mid := r.off
		if err := r.skip(); err != nil {
			t.Fatal(err)
		}
		out = append(out, rawEntry{m[start:mid:mid], m[mid:r.off:r.off]})
	}
	return out
}

// rawMap joins entries under a definite map head.
func rawMap(entries []rawEntry) []byte {
	b := appendHead(nil, majorMap, uint64(len(entries)))
	for _, e := range entries {
		b = append(append(b, e.key...), e.val...)
	}
	return b
}

// entry finds the value of the entry whose key encodes as key.
func entry(t testing.TB, es []rawEntry, key []byte) []byte {
	t.Helper()
	for _, e := range es {
		if bytes.Equal(e.key, key) {
			return e.val
		}
	}
	t.Fatalf("no key %x", key)
	return nil
}

// replace returns es with the value for key replaced (or removed when val
// is nil).
func replace(es []rawEntry, key, val []byte) []rawEntry {
	var out []rawEntry
	for _, e := range es {
		if !bytes.Equal(e.key, key) {
			out = append(out, e)
		} else if val != nil {
			out = append(out, rawEntry{e.key, val})
		}
	}
	return out
}

func cborInt(v int64) []byte { return appendInt(nil, v) }

// parts are the pieces of a presentation, in encoded form.
type parts struct {
	credProtected   []byte // bstr contents
	credUnprotected []byte // encoded map
	payload         []byte // bstr contents
	proofProtected  []byte // bstr contents
	proofPayload    []byte // encoded item (null when detached)
}

func (f fixture) parts(t testing.TB) parts {
	t.Helper()
	payload, err := encodeClaims(&f.claims)
	if err != nil {
		t.Fatal(err)
	}
	pp := appendHead(nil, majorMap, 2)
	pp = appendInt(appendInt(pp, hdrAlg), AlgES256)
	pp = appendHead(appendInt(pp, hdrCWTClaims), majorMap, 1)
	pp = appendInt(appendInt(pp, claimIAT), f.proofAt.Unix())
	return parts{
		credProtected:   []byte{0xa1, 0x01, 0x26},
		credUnprotected: appendBytes([]byte{0xa1, 0x04}, f.kid),
		payload:         payload,
		proofProtected:  pp,
		proofPayload:    []byte{0xf6},
	}
}

// credential signs and assembles the credential of p.
func (f fixture) credential(t testing.TB, p parts) []byte {
	t.Helper()
	digest := sigStructureDigest(p.credProtected, p.payload)
	sig, err := signES256(f.issuer, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b := appendHead(nil, majorTag, tagCOSESign1)
	b = appendHead(b, majorArray, 4)
	b = appendBytes(b, p.credProtected)
	b = append(b, p.credUnprotected...)
	b = appendBytes(b, p.payload)
	return appendBytes(b, sig)
}

// presentation signs and assembles the whole presentation of p.
func (f fixture) presentation(t testing.TB, p parts) []byte {
	t.Helper()
	cred := f.credential(t, p)
	sum := sha256.Sum256(cred)
	digest := sigStructureDigest(p.proofProtected, sum[:])
	sig, err := signES256(f.holder, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	proof := appendHead(nil, majorTag, tagCOSESign1)
	proof = appendHead(proof, majorArray, 4)
	proof = appendBytes(proof, p.proofProtected)
	proof = append(proof, 0xa0)
	proof = append(proof, p.proofPayload...)
	proof = appendBytes(proof, sig)
	out := appendHead(nil, majorArray, 2)
	out = appendBytes(out, cred)
	return appendBytes(out, proof)
}
