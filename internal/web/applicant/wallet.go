package applicant

import (
	"net/http"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
)

// The wallet page's data, and the service worker that opens the wallet
// offline; see docs/pages.md.

// WalletScope is the part of the site the service worker controls: the
// wallet page only, so that no other page is ever served from a cache.
const WalletScope = "/wallet"

// walletEntry is an e-permit as the wallet page keeps it: the credential
// bytes it presents, plus the holder data for the card, read here from the
// signed credential so the page needs no CBOR decoder.
type walletEntry struct {
	credentialJSON
	Holder walletHolder `json:"holder"`
}

type walletHolder struct {
	DocumentType   string   `json:"document_type"`
	DocumentNumber string   `json:"document_number"`
	Name           string   `json:"name"`
	LatinName      string   `json:"latin_name"`
	BirthDate      string   `json:"birth_date"`
	Sex            string   `json:"sex"`
	Scopes         []string `json:"scopes"`
}

func (s *Handler) walletEPermits(c channel) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cs, ok := s.credentials(c, w, r)
		if !ok {
			return
		}
		out := make([]walletEntry, 0, len(cs))
		for i := range cs {
			e, err := credential.ParseEPermit(cs[i].Token)
			if err != nil {
				s.site.Error(w, r, err)
				return
			}
			p := e.Claims.Permit
			h := walletHolder{DocumentType: authority.DomainDocumentType(p.DocumentType).String(), DocumentNumber: p.DocumentNumber,
				Name: p.Name, LatinName: p.LatinName, BirthDate: p.BirthDate, Sex: sexName(authority.DomainSex(p.Sex))}
			for _, sc := range p.Scopes {
				h.Scopes = append(h.Scopes, scopeName(authority.DomainScope(sc)))
			}
			out = append(out, walletEntry{credentialJSON: toJSON(&cs[i]), Holder: h})
		}
		w.Header().Set("Cache-Control", "no-store")
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"epermits": out})
	}
}
