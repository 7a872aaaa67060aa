// Package notify delivers one-time codes to applicants' phones: through an
// HTTP SMS gateway in production, or into an in-memory outbox for the demo.
//
// The gateway contract (docs/api.md): POST {url} with
// "Authorization: Bearer {token}" and the JSON body {"to": "+85291234567",
// "message": "…"}; any 2xx status means accepted. Messages are never logged:
// they carry codes.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Gateway sends messages through an HTTP SMS gateway.
type Gateway struct {
	URL    string
	Token  string
	Client *http.Client // nil means a client with a 10 s timeout
}

// Notify sends message to phone.
func (g *Gateway) Notify(ctx context.Context, phone, message string) error {
	body, _ := json.Marshal(map[string]string{"to": phone, "message": message})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	client := g.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: gateway: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notify: gateway answered %s", resp.Status)
	}
	return nil
}

// Message is one message in the outbox.
type Message struct {
	To   string    `json:"to"`
	Text string    `json:"message"`
	At   time.Time `json:"at"`
}

// Outbox keeps the last messages in memory instead of sending them, and logs
// them: the demo shows codes on its outbox page. Never use it in production.
type Outbox struct {
	Log  *slog.Logger // optional
	mu   sync.Mutex
	msgs []Message
}

// outboxSize bounds the outbox.
const outboxSize = 100

// Notify stores the message.
func (o *Outbox) Notify(ctx context.Context, phone, message string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, Message{To: phone, Text: message, At: time.Now().UTC()})
	if len(o.msgs) > outboxSize {
		o.msgs = o.msgs[len(o.msgs)-outboxSize:]
	}
	if o.Log != nil {
		o.Log.Info("demo outbox", "to", phone, "message", message)
	}
	return nil
}

// Messages returns the messages, newest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Message, len(o.msgs))
	for i, m := range o.msgs {
		out[len(o.msgs)-1-i] = m
	}
	return out
}
