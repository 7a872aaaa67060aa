package face

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fakeProvider answers per the contract: a match when probe equals reference.
func fakeProvider(t *testing.T, answer func(ref, probe []byte) (int, string)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Reference, Probe []byte }
		if r.Header.Get("Authorization") != "Bearer tok" || json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		code, body := answer(req.Reference, req.Probe)
		w.WriteHeader(code)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProvider(t *testing.T) {
	for _, tc := range []struct {
		name    string
		code    int
		body    string
		match   bool
		wantErr bool
	}{
		{"match", 200, `{"match":true,"score":0.93}`, true, false},
		{"below threshold", 200, `{"match":true,"score":0.5}`, false, false},
		{"no match", 200, `{"match":false,"score":0.99}`, false, false},
		{"missing score", 200, `{"match":true}`, false, true},
		{"garbage", 200, `<html>`, false, true},
		{"provider down", 503, ``, false, true},
	} {
		srv := fakeProvider(t, func(ref, probe []byte) (int, string) { return tc.code, tc.body })
		p := &Provider{URL: srv.URL, Token: "tok", Client: srv.Client()}
		match, err := p.Compare(context.Background(), []byte("portrait"), []byte("selfie"))
		if match != tc.match || (err != nil) != tc.wantErr {
			t.Errorf("%s: Compare = %v, %v", tc.name, match, err)
		}
	}
	// Wrong token: an error, never a match.
	srv := fakeProvider(t, func(ref, probe []byte) (int, string) { return 200, `{"match":true,"score":1}` })
	if m, err := (&Provider{URL: srv.URL, Token: "bad", Client: srv.Client()}).Compare(context.Background(), nil, nil); m || err == nil {
		t.Fatalf("unauthenticated call = %v, %v", m, err)
	}
}
