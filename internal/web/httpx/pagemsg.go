package httpx

import (
	"bytes"
	"html/template"
	"io/fs"
	"regexp"
	"strings"
)

// A page's scripts get only the catalogue entries they can ask for, not
// the whole catalogue (most of which is other pages' words): the keys
// written as string literals in the scripts the page loads, and every key
// under a prefix the scripts complete at run time (t("err." + code)).

var (
	scriptSrc     = regexp.MustCompile(`<script[^>]* src="/static/([^"]+)"`)
	stringLiteral = regexp.MustCompile(`"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)"`)
	keyPrefix     = regexp.MustCompile(`"([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*\.)"\s*\+`)
)

// PageMessages returns, per language, the entries the scripts of page
// template t (made by PageTemplate) can ask for. A page whose template
// takes more than PageData passes data, which wraps the PageData it is
// given in the page's own type (with every optional part switched on, so
// that all its scripts are found). Without the static files it returns the
// whole catalogues.
func (s *Site) PageMessages(t *template.Template, data func(PageData) any) map[string]map[string]string {
	if s.Static == nil {
		return catalogs
	}
	var v any = PageData{Lang: languages[0]}
	if data != nil {
		v = data(PageData{Lang: languages[0]})
	}
	var page bytes.Buffer
	if err := t.ExecuteTemplate(&page, "layout", v); err != nil {
		panic("httpx: rendering a page to find its scripts: " + err.Error())
	}
	var src bytes.Buffer
	for _, m := range scriptSrc.FindAllStringSubmatch(page.String(), -1) {
		b, err := fs.ReadFile(s.Static, m[1])
		if err != nil {
			panic("httpx: a page loads " + m[1] + ": " + err.Error())
		}
		src.Write(b)
		src.WriteByte('\n')
	}
	return scriptMessages(src.String())
}

// scriptMessages returns, per language, the catalogue entries script text
// src can ask for.
func scriptMessages(src string) map[string]map[string]string {
	keys := map[string]bool{}
	for _, m := range stringLiteral.FindAllStringSubmatch(src, -1) {
		keys[m[1]] = true
	}
	var prefixes []string
	for _, m := range keyPrefix.FindAllStringSubmatch(src, -1) {
		prefixes = append(prefixes, m[1])
	}
	out := map[string]map[string]string{}
	for _, l := range languages {
		msgs := map[string]string{}
		for k, v := range catalogs[l] {
			if keys[k] || hasAnyPrefix(k, prefixes) {
				msgs[k] = v
			}
		}
		out[l] = msgs
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
