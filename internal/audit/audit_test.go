package audit

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// chain returns n sealed events.
func chain(n int) []Event {
	var out []Event
	prev, seq := GenesisHash, int64(0)
	for i := range n {
		e := Event{At: time.Unix(1764000000, int64(i)*1500), Actor: "cli", Action: "key.init", Subject: "kid:x",
			Details: []byte(`{"n":1}`)}
		e.Seal(seq, prev)
		prev, seq = e.Hash, e.Seq
		out = append(out, e)
	}
	return out
}

func verify(events []Event, headSeq int64, headHash []byte, anchor *Anchor) (int64, error) {
	v := Verifier{Anchor: anchor}
	for i := range events {
		if err := v.Next(&events[i]); err != nil {
			return v.Count(), err
		}
	}
	return v.Count(), v.Finish(headSeq, headHash)
}

func TestVerify(t *testing.T) {
	good := chain(5)
	head := good[4]
	cases := []struct {
		name    string
		edit    func([]Event) []Event
		headSeq int64
		anchor  *Anchor
		wantSeq int64 // 0: intact
	}{
		{"intact", func(e []Event) []Event { return e }, 5, nil, 0},
		{"intact, anchored", func(e []Event) []Event { return e }, 5, &Anchor{3, good[2].Hash}, 0},
		{"details changed", func(e []Event) []Event { e[2].Details = []byte(`{"n":2}`); return e }, 5, nil, 3},
		{"actor changed and rehashed", func(e []Event) []Event {
			e[2].Actor = "mallory"
			e[2].Hash = e[2].ComputeHash()
			return e
		}, 5, nil, 4},
		{"middle deleted", func(e []Event) []Event { return append(e[:2:2], e[3:]...) }, 5, nil, 3},
		{"last deleted", func(e []Event) []Event { return e[:4] }, 5, nil, 5},
		// Without an anchor a rewound head is indistinguishable from a shorter log.
		{"last deleted, head rewound", func(e []Event) []Event { return e[:4] }, 4, nil, 0},
		{"last deleted, head rewound, anchored", func(e []Event) []Event { return e[:4] }, 4, &Anchor{5, good[4].Hash}, 5},
		{"rewritten under the anchor", func(e []Event) []Event {
			for i := 1; i < 5; i++ { // a whole rehashed chain from event 2 on
				e[i].Subject = "kid:rewritten"
				e[i].Seal(e[i-1].Seq, e[i-1].Hash)
			}
			return e
		}, 5, &Anchor{4, good[3].Hash}, 4},
		{"forged event appended", func(e []Event) []Event {
			f := Event{At: time.Unix(1764000100, 0), Actor: "x", Action: "y", Subject: "z"}
			f.Seal(e[4].Seq, e[4].Hash)
			return append(e, f)
		}, 5, nil, 6},
		{"forged event inserted", func(e []Event) []Event {
			f := e[1]
			f.Subject = "kid:forged"
			f.Hash = f.ComputeHash()
			return append(e[:2:2], append([]Event{f}, e[2:]...)...)
		}, 5, nil, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			events := tc.edit(append([]Event(nil), good...))
			headHash := head.Hash
			if tc.headSeq == 4 {
				headHash = good[3].Hash
			}
			if tc.name == "rewritten under the anchor" {
				headHash = events[4].Hash
			}
			_, err := verify(events, tc.headSeq, headHash, tc.anchor)
			var p *Problem
			switch {
			case tc.wantSeq == 0 && err != nil:
				t.Fatalf("intact chain: %v", err)
			case tc.wantSeq != 0 && !errors.As(err, &p):
				t.Fatalf("err = %v, want a *Problem", err)
			case tc.wantSeq != 0 && p.Seq != tc.wantSeq:
				t.Fatalf("problem at %d (%s), want %d", p.Seq, p.Reason, tc.wantSeq)
			}
		})
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := chain(1)[0]
	edits := map[string]func(*Event){
		"seq":     func(e *Event) { e.Seq++ },
		"at":      func(e *Event) { e.At = e.At.Add(time.Microsecond) },
		"actor":   func(e *Event) { e.Actor += "x" },
		"action":  func(e *Event) { e.Action += "x" },
		"subject": func(e *Event) { e.Subject += "x" },
		"details": func(e *Event) { e.Details = []byte(`{}`) },
		"prev":    func(e *Event) { e.PrevHash = make([]byte, 32); e.PrevHash[0] = 1 },
		// Length prefixes: moving a byte between fields changes the hash.
		"boundary": func(e *Event) { e.Actor, e.Action = e.Actor+"k", e.Action[1:] },
	}
	for name, edit := range edits {
		e := base
		edit(&e)
		if string(e.ComputeHash()) == string(base.Hash) {
			t.Errorf("changing %s leaves the hash unchanged", name)
		}
	}
}

func TestAnchorText(t *testing.T) {
	a := Anchor{Seq: 7, Hash: chain(1)[0].Hash}
	got, err := ParseAnchor(a.String())
	if err != nil || got.Seq != 7 || string(got.Hash) != string(a.Hash) {
		t.Fatalf("ParseAnchor(%q) = %+v, %v", a.String(), got, err)
	}
	for _, bad := range []string{"", "7", "0:00", "x:" + a.String()[2:], "7:abcd", "7:" + strings.Repeat("zz", 32)} {
		if _, err := ParseAnchor(bad); err == nil {
			t.Errorf("ParseAnchor(%q) accepted", bad)
		}
	}
}

func TestCoverage(t *testing.T) {
	ev := func(subject, action, details string) *Event {
		e := &Event{Subject: subject, Action: action}
		if details != "" {
			e.Details = []byte(details)
		}
		return e
	}
	log := []*Event{
		ev("cti:01", "credential.issue", ""),
		ev("cti:02", "linkage.issue", ""),
		ev("cti:02", "credential.supersede", `{"by":"03"}`),
		ev("verifier:Gate", "verifier.add", `{"kind":"railway","key":"epv_aaaa"}`),
		ev("verifier:Gate", "verifier.rotate_key", `{"old":"epv_aaaa","key":"epv_bbbb"}`),
		ev("hk:H12345678", "registry.create", ""),
	}
	tests := []struct {
		name    string
		facts   func(c *Coverage)
		missing int
	}{
		{"every fact logged", func(c *Coverage) {
			c.Credential([]byte{1}, "active")
			c.Credential([]byte{2}, "revoked")
			c.Client("verifier", "Gate", "epv_bbbb", false)
		}, 0},
		{"credential without issue event", func(c *Coverage) { c.Credential([]byte{9}, "active") }, 1},
		{"revoked without event", func(c *Coverage) { c.Credential([]byte{1}, "revoked") }, 1},
		{"suspended without event", func(c *Coverage) { c.Credential([]byte{1}, "suspended") }, 1},
		{"client key never logged", func(c *Coverage) { c.Client("verifier", "Gate", "epv_cccc", false) }, 1},
		{"client disabled without event", func(c *Coverage) { c.Client("verifier", "Gate", "epv_bbbb", true) }, 1},
		{"client never added", func(c *Coverage) { c.Client("institution", "Bank", "epi_x", false) }, 1},
	}
	for _, tc := range tests {
		c := NewCoverage()
		for _, e := range log {
			c.Add(e)
		}
		tc.facts(c)
		var m *Missing
		err := c.Err()
		switch {
		case tc.missing == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.missing > 0 && (!errors.As(err, &m) || m.Count != tc.missing):
			t.Errorf("%s: %v, want %d missing", tc.name, err, tc.missing)
		}
	}
}
