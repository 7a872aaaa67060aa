package oid4vc

import (
	"net/http"

	"github.com/epermit/epermit/credential"
	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/internal/web/httpx"
)

// The metadata of spec/formats.md §9: built from the issuer identifier and
// the algorithms of the trust list's keys.

type display map[string]string // locale → name

func (d display) list() []map[string]string {
	out := []map[string]string{}
	for _, l := range []string{"zh-Hant", "zh-Hans", "en"} {
		out = append(out, map[string]string{"name": d[l], "locale": l})
	}
	return out
}

// linkageClaims are the linkage proof's disclosable claims (spec §6) and
// their names.
var linkageClaims = []struct {
	name string
	d    display
}{
	{credential.ClaimName, display{"zh-Hant": "姓名", "zh-Hans": "姓名", "en": "Name"}},
	{credential.ClaimLatinName, display{"zh-Hant": "英文姓名", "zh-Hans": "英文姓名", "en": "Name in Latin letters"}},
	{credential.ClaimBirthDate, display{"zh-Hant": "出生日期", "zh-Hans": "出生日期", "en": "Date of birth"}},
	{credential.ClaimSex, display{"zh-Hant": "性別", "zh-Hans": "性别", "en": "Sex"}},
	{credential.ClaimTravelPermitType, display{"zh-Hant": "通行證類別", "zh-Hans": "通行证类别", "en": "Travel permit type"}},
	{credential.ClaimTravelPermitNumber, display{"zh-Hant": "通行證號碼", "zh-Hans": "通行证号码", "en": "Travel permit number"}},
	{credential.ClaimResidencePermitNumber, display{"zh-Hant": "居住證號碼", "zh-Hans": "居住证号码", "en": "Residence permit number"}},
}

// coseAlgs are the COSE algorithm identifiers of the JOSE names of spec §1.1.
var coseAlgs = map[string]int64{credential.JOSEES256: credential.AlgES256, credential.JOSESM2: credential.AlgSM2}

func (s *Handler) issuerMetadata(w http.ResponseWriter, r *http.Request) {
	iss := s.a.IssuerIdentifier()
	// Credentials are signed with the active key, in its suite (spec §1.1);
	// the other keys of the trust list may have signed credentials still
	// valid. Both lists name the active key's algorithm first.
	algs, err := s.a.SigningAlgorithms(r.Context())
	if err != nil {
		s.oauthError(w, r, err, false)
		return
	}
	cose := make([]int64, 0, len(algs))
	for _, a := range algs {
		if c, ok := coseAlgs[a]; ok {
			cose = append(cose, c)
		}
	}
	claims := make([]map[string]any, len(linkageClaims))
	for i, c := range linkageClaims {
		claims[i] = map[string]any{"path": []string{c.name}, "display": c.d.list()}
	}
	jwtProof := map[string]any{"jwt": map[string]any{"proof_signing_alg_values_supported": []string{"ES256"}}}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"credential_issuer":   iss,
		"credential_endpoint": iss + "/oid4vci/credential",
		"nonce_endpoint":      iss + "/oid4vci/nonce",
		"display": display{"zh-Hant": "國家移民管理局 電子通行證", "zh-Hans": "国家移民管理局 电子通行证",
			"en": "National Immigration Administration e-permits"}.list(),
		"credential_configurations_supported": map[string]any{
			authority.ConfigLinkage: map[string]any{
				"format": credential.FormatSDJWT,
				"vct":    credential.LinkageVCT,
				"scope":  "permit_linkage",
				"cryptographic_binding_methods_supported": []string{"jwk"},
				"credential_signing_alg_values_supported": algs,
				"proof_types_supported":                   jwtProof,
				"credential_metadata": map[string]any{
					"display": display{"zh-Hant": "雙證關聯證明", "zh-Hans": "双证关联证明", "en": "Permit linkage proof"}.list(),
					"claims":  claims,
				},
			},
			authority.ConfigEPermit: map[string]any{
				"format":   credential.FormatEP1,
				"ep1_kind": 1,
				"scope":    "epermit",
				"cryptographic_binding_methods_supported": []string{"cose_key"},
				"credential_signing_alg_values_supported": cose,
				"proof_types_supported":                   jwtProof,
				"credential_metadata": map[string]any{
					"display": display{"zh-Hant": "臨時電子通行證", "zh-Hans": "临时电子通行证", "en": "Temporary e-permit"}.list(),
				},
			},
		},
	})
}

func (s *Handler) asMetadata(w http.ResponseWriter, r *http.Request) {
	iss := s.a.IssuerIdentifier()
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                iss,
		"token_endpoint":        iss + "/oid4vci/token",
		"grant_types_supported": []string{authority.PreAuthorizedGrant},
		"pre-authorized_grant_anonymous_access_supported": true,
		"token_endpoint_auth_methods_supported":           []string{"none"},
	})
}
