package httpx

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The pages' words live in one JSON catalogue per language under i18n/,
// shared by the templates and, through a JSON data block, the scripts.

//go:embed i18n/*.json
var i18nFS embed.FS

// Languages the pages are written in; the first is the default, since the
// pages serve Hong Kong, Macau and Taiwan residents.
var languages = []string{"zh-Hant", "zh-Hans", "en"}

// catalogs maps a language to its messages, loaded once at start.
var catalogs = func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, l := range languages {
		b, err := i18nFS.ReadFile("i18n/" + l + ".json")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("httpx: i18n/%s.json: %v", l, err))
		}
		out[l] = m
	}
	return out
}()

// LangCookie remembers a language picked with the switch. It holds only
// the language tag, never anything personal.
const LangCookie = "lang"

func validLang(l string) bool { return slices.Contains(languages, l) }

// Languages are the pages' languages, the default first.
func Languages() []string { return slices.Clone(languages) }

// Messages is lang's catalogue: message key to text. Callers must not
// change it.
func Messages(lang string) map[string]string { return catalogs[lang] }

// PickLang chooses the page language: the cookie set by the visible switch,
// else the best Accept-Language match, else Traditional Chinese.
func PickLang(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil && validLang(c.Value) {
		return c.Value
	}
	return MatchAcceptLanguage(r.Header.Get("Accept-Language"))
}

// MatchAcceptLanguage maps an Accept-Language header to a page language,
// honouring q-values. Chinese without a script or region is taken as
// Traditional (the default); mainland and Singapore regions as Simplified.
func MatchAcceptLanguage(header string) string {
	best, bestQ := languages[0], -1.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		l := langOfTag(strings.ToLower(tag))
		if l != "" && q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

func langOfTag(tag string) string {
	switch {
	case tag == "en" || strings.HasPrefix(tag, "en-"):
		return "en"
	case strings.HasPrefix(tag, "zh-hans"), tag == "zh-cn", tag == "zh-sg", strings.HasPrefix(tag, "zh-cn-"), strings.HasPrefix(tag, "zh-sg-"):
		return "zh-Hans"
	case tag == "zh" || strings.HasPrefix(tag, "zh-"):
		return "zh-Hant"
	}
	return ""
}
