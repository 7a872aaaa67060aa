package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Driver sends the requests of every path to one server or to several
// replicas, client w always to URLs[w % len(URLs)].
type Driver struct {
	URLs   []string // base URLs, e.g. http://127.0.0.1:8080
	Client *http.Client
}

// NewDriver returns a driver with a connection pool large enough for
// clients concurrent clients, each keeping its connection open.
func NewDriver(urls []string, clients int) *Driver {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = clients*2, clients*2
	return &Driver{URLs: urls, Client: &http.Client{Transport: t, Timeout: 30 * time.Second}}
}

// call sends one request and returns the answer's status and body; a
// transport failure is an error.
func (d *Driver) call(ctx context.Context, worker int, method, path, key string, body any, hdr map[string]string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.URLs[worker%len(d.URLs)]+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := d.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// expect turns an answer other than want into a Failure named by its
// status and, for a problem, its code.
func expect(status int, body []byte, err error, want int) error {
	if err != nil || status == want {
		return err
	}
	var p struct {
		Code string `json:"code"`
	}
	json.Unmarshal(body, &p)
	return Fail(strconv.Itoa(status)+" "+p.Code, nil)
}

// Trivial is the floor of the HTTP paths: GET /healthz, a handler that
// writes a constant, behind the same server stack (security headers,
// metrics, access log) as every route.
func (d *Driver) Trivial() Op {
	return func(ctx context.Context, w, _ int) error {
		status, body, err := d.call(ctx, w, "GET", "/healthz", "", nil, nil)
		return expect(status, body, err, http.StatusOK)
	}
}

// Verify is online verification (POST /api/v1/verify) of one
// presentation each, as the fixture's verifier; the answer must accept.
// It is done when the presentations are.
func (d *Driver) Verify(f *Fixture, presentations []string) Op {
	return func(ctx context.Context, w, i int) error {
		if i >= len(presentations) {
			return ErrDone
		}
		status, body, err := d.call(ctx, w, "POST", "/api/v1/verify", f.VerifierKey,
			map[string]string{"qr": presentations[i], "use": "train"}, nil)
		if err := expect(status, body, err, http.StatusOK); err != nil {
			return err
		}
		var res struct {
			Decision string `json:"decision"`
			Code     string `json:"code"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return Fail("200 unreadable", err)
		}
		if res.Decision != "accept" {
			return Fail("200 "+res.Decision+" "+res.Code, nil)
		}
		return nil
	}
}

// Status fetches the fixture's status list (GET /s/{n}); with etags, one
// per server in the order of URLs, as a verifier that holds the list does,
// expecting 304 Not Modified. Each replica signs the list itself, so each
// has its own entity tag: a client sends the one its server gave.
func (d *Driver) Status(f *Fixture, etags []string) Op {
	path := "/s/" + strconv.FormatInt(f.StatusList, 10)
	return func(ctx context.Context, w, _ int) error {
		want, hdr := http.StatusOK, map[string]string(nil)
		if etags != nil {
			want, hdr = http.StatusNotModified, map[string]string{"If-None-Match": etags[w%len(etags)]}
		}
		status, body, err := d.call(ctx, w, "GET", path, "", nil, hdr)
		if err := expect(status, body, err, want); err != nil {
			return err
		}
		if want == http.StatusOK && len(body) == 0 {
			return Fail("200 empty", nil)
		}
		return nil
	}
}

// ETags are the status list's current entity tags, one per server in the
// order of URLs.
func (d *Driver) ETags(ctx context.Context, f *Fixture) ([]string, error) {
	var tags []string
	for _, u := range d.URLs {
		req, err := http.NewRequestWithContext(ctx, "GET", u+"/s/"+strconv.FormatInt(f.StatusList, 10), nil)
		if err != nil {
			return nil, err
		}
		resp, err := d.Client.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
			return nil, fmt.Errorf("load: status list from %s: %s without an ETag", u, resp.Status)
		}
		tags = append(tags, resp.Header.Get("ETag"))
	}
	return tags, nil
}

// Linkage asks the linkage service (POST /api/v1/linkage/check), as the
// fixture's institution, about the fixture's linked people in turn; the
// answer must say linked.
func (d *Driver) Linkage(f *Fixture) Op {
	return func(ctx context.Context, w, i int) error {
		r := f.linked[i%len(f.linked)]
		status, body, err := d.call(ctx, w, "POST", "/api/v1/linkage/check", f.InstitutionKey, map[string]string{
			"travel_permit_type":      r.TravelPermits[0].Type.String(),
			"travel_permit_number":    r.TravelPermits[0].Number,
			"residence_permit_number": r.ResidencePermit.Number,
			"purpose":                 "load test",
		}, nil)
		if err := expect(status, body, err, http.StatusOK); err != nil {
			return err
		}
		var ans struct {
			Linked bool `json:"linked"`
		}
		if err := json.Unmarshal(body, &ans); err != nil || !ans.Linked {
			return Fail("200 not linked", err)
		}
		return nil
	}
}

// Issuance records what the issuance path acknowledged.
type Issuance struct {
	next   atomic.Int64
	mu     sync.Mutex
	issued []Issued
}

// Acknowledged lists the credentials the server acknowledged.
func (is *Issuance) Acknowledged() []Issued {
	is.mu.Lock()
	defer is.mu.Unlock()
	return append([]Issued(nil), is.issued...)
}

// Issue is counter issuance over the officer API (POST /api/v1/credentials)
// as the fixture's officer, each request for a person not issued to
// before; it is done when the fixture's people are. What the server
// acknowledges goes into is, for Check.
func (d *Driver) Issue(f *Fixture, is *Issuance) Op {
	return func(ctx context.Context, w, _ int) error {
		n := int(is.next.Add(1) - 1)
		if n >= len(f.toIssue) {
			return ErrDone
		}
		tp := f.toIssue[n]
		status, body, err := d.call(ctx, w, "POST", "/api/v1/credentials", f.OfficerKey, map[string]any{
			"kind": "epermit", "travel_permit_type": tp.Type.String(), "travel_permit_number": tp.Number,
			"reason": "lost", "holder_key": f.holderJWK,
		}, nil)
		if err := expect(status, body, err, http.StatusCreated); err != nil {
			return err
		}
		var ack Issued
		if err := json.Unmarshal(body, &ack); err != nil || ack.CTI == "" || ack.StatusList == "" {
			return Fail("201 unreadable", err)
		}
		is.mu.Lock()
		is.issued = append(is.issued, ack)
		is.mu.Unlock()
		return nil
	}
}
