// Package audit defines epermit's append-only audit log: every state change
// (issue, revoke, import, key change, linkage query) is an Event, and events
// form a hash chain so that a changed, inserted or deleted event is found by
// Verify.
//
// Events carry identifiers (a document number, a credential id, a key id) and
// never the portrait or other personal data beyond them.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one entry of the audit log.
type Event struct {
	Seq      int64           // 1, 2, 3, … with no gaps
	At       time.Time       // when the change was committed, microsecond precision
	Actor    string          // who: "officer:wong", "holder:hk:H12345678", "cli", "system"
	Action   string          // what: "registry.create", "key.rotate", "credential.issue", …
	Subject  string          // on what: "hk:H12345678", "kid:uaRWTrTfbG8", "cti:…"
	Details  json.RawMessage // small JSON object with non-personal details; may be nil
	PrevHash []byte          // Hash of the event before, or 32 zero bytes for the first
	Hash     []byte          // ComputeHash of this event
}

// GenesisHash is the PrevHash of the first event.
var GenesisHash = make([]byte, sha256.Size)

// ComputeHash returns SHA-256 over an unambiguous encoding of every field but
// Hash: each field is length-prefixed, so no two different events share an
// encoding.
func (e *Event) ComputeHash() []byte {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(e.At.UnixMicro()))
	h.Write(n[:])
	put([]byte(e.Actor))
	put([]byte(e.Action))
	put([]byte(e.Subject))
	put(e.Details)
	put(e.PrevHash)
	return h.Sum(nil)
}

// Seal fills in e.Seq, e.PrevHash and e.Hash so that e follows an event with
// sequence number prevSeq and hash prevHash. At is truncated to the
// microsecond, the precision both stores keep.
func (e *Event) Seal(prevSeq int64, prevHash []byte) {
	e.Seq = prevSeq + 1
	e.At = e.At.Truncate(time.Microsecond).UTC()
	e.PrevHash = prevHash
	e.Hash = e.ComputeHash()
}

// Verifier checks a log event by event, in sequence order.
//
// The chain alone cannot tell a log whose newest events were deleted and
// whose head was rewound by someone with write access to the database from
// a shorter log. An Anchor, a (seq, hash) pair recorded outside the database
// by an earlier run (`epermit audit verify` prints one), closes that gap.
type Verifier struct {
	Anchor *Anchor // optional
	seq    int64
	hash   []byte
}

// Anchor is an event's sequence number and hash as seen at an earlier time.
type Anchor struct {
	Seq  int64
	Hash []byte
}

// Problem describes the first place where the log is not what was written.
type Problem struct {
	Seq    int64  // the event at which the chain breaks
	Reason string // changed, inserted, deleted or truncated, in words
}

func (p *Problem) Error() string {
	return fmt.Sprintf("audit log broken at event %d: %s", p.Seq, p.Reason)
}

// Next checks the next event read from the log.
func (v *Verifier) Next(e *Event) error {
	prev := v.hash
	if prev == nil {
		prev = GenesisHash
	}
	switch {
	case e.Seq > v.seq+1:
		return &Problem{v.seq + 1, fmt.Sprintf("event %d is missing (deleted)", v.seq+1)}
	case e.Seq <= v.seq:
		return &Problem{e.Seq, "sequence number repeats or goes back (inserted)"}
	case !bytes.Equal(e.Hash, e.ComputeHash()):
		return &Problem{e.Seq, "its content does not match its hash (changed)"}
	case !bytes.Equal(e.PrevHash, prev):
		return &Problem{e.Seq, "it does not follow the event before it (inserted, or an earlier event deleted or rewritten)"}
	case v.Anchor != nil && e.Seq == v.Anchor.Seq && !bytes.Equal(e.Hash, v.Anchor.Hash):
		return &Problem{e.Seq, "it is not the event the anchor recorded (the log was rewritten)"}
	}
	v.seq, v.hash = e.Seq, e.Hash
	return nil
}

// Finish checks the end of the log against the head the store keeps, which
// catches events deleted from the end.
func (v *Verifier) Finish(headSeq int64, headHash []byte) error {
	if v.Anchor != nil && v.Anchor.Seq > v.seq {
		return &Problem{v.seq + 1, fmt.Sprintf("the anchor recorded event %d but the log ends at %d (deleted)", v.Anchor.Seq, v.seq)}
	}
	if headSeq != v.seq {
		if headSeq > v.seq {
			return &Problem{v.seq + 1, fmt.Sprintf("the log ends at event %d but %d were written (deleted)", v.seq, headSeq)}
		}
		return &Problem{headSeq + 1, fmt.Sprintf("the log has %d events but only %d were written (inserted)", v.seq, headSeq)}
	}
	if headSeq > 0 && !bytes.Equal(headHash, v.hash) {
		return &Problem{headSeq, "the last event is not the one written (changed)"}
	}
	return nil
}

// Count is the number of events checked so far.
func (v *Verifier) Count() int64 { return v.seq }

// Head is the anchor for the last event checked, to record for later runs.
func (v *Verifier) Head() Anchor { return Anchor{Seq: v.seq, Hash: v.hash} }

// String formats an anchor as "SEQ:HEXHASH".
func (a Anchor) String() string { return fmt.Sprintf("%d:%x", a.Seq, a.Hash) }

// ParseAnchor reads "SEQ:HEXHASH".
func ParseAnchor(s string) (*Anchor, error) {
	seqText, hashText, ok := strings.Cut(s, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil || seq < 1 {
		return nil, fmt.Errorf("audit: anchor %q is not SEQ:HEXHASH", s)
	}
	h, err := hex.DecodeString(hashText)
	if err != nil || len(h) != sha256.Size {
		return nil, fmt.Errorf("audit: anchor %q: hash must be 64 hex digits", s)
	}
	return &Anchor{Seq: seq, Hash: h}, nil
}
