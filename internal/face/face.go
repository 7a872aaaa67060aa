// Package face is the client for an external face-verification provider,
// the real-person (实人) check of identity proofing.
//
// The provider contract (docs/api.md): POST {url} with
// "Authorization: Bearer {token}" and the JSON body
// {"reference": base64 portrait, "probe": base64 selfie}; the provider
// answers 200 with {"match": bool, "score": number} where score is in [0, 1].
// A match counts only when "match" is true and score ≥ the configured
// threshold. Any other status is an error, never a match.
package face

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Provider is an HTTP face-verification provider.
type Provider struct {
	URL       string
	Token     string
	Threshold float64      // minimum score; 0 means 0.8
	Client    *http.Client // nil means a client with a 15 s timeout
}

// Compare asks the provider whether selfie shows the person in portrait.
func (p *Provider) Compare(ctx context.Context, portrait, selfie []byte) (bool, error) {
	body, _ := json.Marshal(map[string][]byte{"reference": portrait, "probe": selfie})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("face: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.Token != "" {
		req.Header.Set("Authorization", "Bearer "+p.Token)
	}
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("face: provider: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("face: provider answered %s", resp.Status)
	}
	var out struct {
		Match *bool    `json:"match"`
		Score *float64 `json:"score"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil || out.Match == nil || out.Score == nil {
		return false, fmt.Errorf("face: provider answer is not {\"match\": bool, \"score\": number}")
	}
	threshold := p.Threshold
	if threshold == 0 {
		threshold = 0.8
	}
	return *out.Match && *out.Score >= threshold, nil
}
