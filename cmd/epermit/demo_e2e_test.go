package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/demo"
)

// `epermit demo --addr` on a port other than the default: its public URL
// follows, so an e-permit issued through it carries a status list URI on
// that port; a browser on the other loopback name is sent there.
func TestDemoPublicURLFollowsAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port, then let the demo take it
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if strings.HasSuffix(addr, ":8080") {
		t.Skip("the free port is the default one")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data := t.TempDir()
	pr, pw := io.Pipe()
	g := &globals{}
	done := make(chan error, 1)
	go func() {
		root := newRoot(g)
		root.SetArgs([]string{"demo", "--addr", addr, "--data", data, "--log-level", "warn"})
		root.SetOut(pw)
		root.SetErr(io.Discard)
		done <- root.ExecuteContext(ctx)
		pw.Close()
	}()
	var printed bytes.Buffer
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if sc.Text() == "Stop with Ctrl-C." {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	base := "http://" + addr
	if !strings.Contains(printed.String(), base+"/apply") {
		t.Fatalf("demo printed no URLs at %s: %v\n%s", base, err, printed.String())
	}

	// Apply through the API as the first sample, with the outbox's code.
	post := func(path, bearer string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s = %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	rec := demo.Registry(1)[0]
	started := post("/api/v1/proofing", "", map[string]any{"document_type": "hk", "document_number": rec.TravelPermits[0].Number,
		"name": rec.Person.Name, "birth_date": rec.Person.BirthDate.String()})
	secret := started["session"].(string)
	code := regexp.MustCompile(`[0-9]{6}`).FindString(g.outbox.Messages()[0].Text)
	post("/api/v1/proofing/code", secret, map[string]string{"code": code})
	token := post("/api/v1/proofing/face", secret, map[string][]byte{"selfie": rec.Person.Portrait})["token"].(string)
	nonce := post("/api/v1/nonce", token, nil)["nonce"].(string)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := credential.NewJWK(&key.PublicKey)
	jwk.Kid = ""
	digest := sha256.Sum256([]byte(nonce))
	r, s, _ := ecdsa.Sign(rand.Reader, key, digest[:])
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	issued := post("/api/v1/epermits", token, map[string]any{"reason": "lost", "holder_key": jwk,
		"signature": base64.RawURLEncoding.EncodeToString(sig)})
	raw, err := base64.RawURLEncoding.DecodeString(issued["credential"].(string))
	if err != nil {
		t.Fatal(err)
	}
	ep, err := credential.ParseEPermit(raw)
	if err != nil {
		t.Fatal(err)
	}
	if uri := ep.Claims.Status.URI; !strings.HasPrefix(uri, base+"/s/") {
		t.Errorf("status list URI %q; want it under %s", uri, base)
	}
	if resp, err := http.Get(ep.Claims.Status.URI); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET %s: %v %v", ep.Claims.Status.URI, resp, err)
	}

	// A counter issuance on the demo's data, without --public-url, writes
	// the same base; one with another public URL is refused.
	_, pub := holderKeyFiles(t, t.TempDir(), "holder")
	counter := []string{"issue", "--data", data, "--document-type", "hk", "--document-number", rec.TravelPermits[0].Number,
		"--reason", "forgotten", "--holder-key", pub}
	if _, err := run(t, context.Background(), append(counter, "--public-url", "http://127.0.0.1:8080")...); exitCodeOf(err) != exitUsage {
		t.Errorf("counter issuance with another --public-url: %v; want a usage error", err)
	}
	out, err := run(t, context.Background(), counter...)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = base64.RawURLEncoding.DecodeString(strings.TrimSpace(out))
	if ep, err := credential.ParseEPermit(raw); err != nil || !strings.HasPrefix(ep.Claims.Status.URI, base+"/s/") {
		t.Errorf("counter credential: %v; want its status list under %s", err, base)
	}

	// localhost is sent to the public URL, where page POSTs are accepted.
	_, port, _ := net.SplitHostPort(addr)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", "http://localhost:"+port+"/apply?x=1", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != base+"/apply?x=1" {
		t.Errorf("GET /apply on localhost = %v %v; want a redirect to %s/apply?x=1", resp, err, base)
	}
	// The API is not redirected: it has no Origin check to satisfy.
	if resp, err := client.Get("http://localhost:" + port + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /healthz on localhost = %v %v; want 200", resp, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("demo did not stop")
	}
}
