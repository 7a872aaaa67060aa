package httpx

import (
	"encoding/json"
	"net/http"
)

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteImage answers with an image that no cache may keep: portraits and
// selfies are personal data.
func WriteImage(w http.ResponseWriter, img []byte) {
	w.Header().Set("Content-Type", http.DetectContentType(img))
	w.Header().Set("Cache-Control", "no-store")
	w.Write(img)
}
