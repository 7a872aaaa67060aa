package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGateway(t *testing.T) {
	var got map[string]string
	var auth string
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	g := &Gateway{URL: srv.URL, Token: "s3cret", Client: srv.Client()}
	if err := g.Notify(context.Background(), "+85291234567", "code 123456"); err != nil {
		t.Fatal(err)
	}
	if got["to"] != "+85291234567" || got["message"] != "code 123456" || auth != "Bearer s3cret" {
		t.Fatalf("gateway got %v with %q", got, auth)
	}
	status = http.StatusBadGateway
	if err := g.Notify(context.Background(), "+85291234567", "x"); err == nil || !strings.Contains(err.Error(), "502") {
		t.Fatalf("gateway failure = %v", err)
	}
}

func TestOutbox(t *testing.T) {
	var o Outbox
	for i := range outboxSize + 5 {
		o.Notify(context.Background(), "+853", string(rune('a'+i%26)))
	}
	m := o.Messages()
	if len(m) != outboxSize || m[0].Text != string(rune('a'+(outboxSize+4)%26)) {
		t.Fatalf("outbox holds %d, newest %q", len(m), m[0].Text)
	}
}
