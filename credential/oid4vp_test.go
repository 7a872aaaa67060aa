package credential

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

func TestParseDCQL(t *testing.T) {
	q, err := ParseDCQL([]byte(`{"credentials":[{"id":"linkage","format":"dc+sd-jwt","meta":{"vct_values":["urn:epermit:vct:permit-linkage:1"]},
		"claims":[{"path":["travel_permit_number"]},{"path":["residence_permit_number"]}]}]}`))
	if err != nil || q.ID != "linkage" || !slices.Equal(q.Claims, []string{"travel_permit_number", "residence_permit_number"}) {
		t.Fatalf("%+v %v", q, err)
	}
	again, err := ParseDCQL(mustMarshal(t, q.JSON()))
	if err != nil || again.ID != q.ID || !slices.Equal(again.Claims, q.Claims) {
		t.Fatalf("round trip: %+v %v", again, err)
	}
	const meta = `"format":"dc+sd-jwt","meta":{"vct_values":["urn:epermit:vct:permit-linkage:1"]}`
	for name, s := range map[string]string{
		"not json":        `{`,
		"no credentials":  `{"credentials":[]}`,
		"two credentials": `{"credentials":[{"id":"a",` + meta + `,"claims":[{"path":["name"]}]},{"id":"b",` + meta + `,"claims":[{"path":["name"]}]}]}`,
		"credential_sets": `{"credentials":[{"id":"a",` + meta + `,"claims":[{"path":["name"]}]}],"credential_sets":[]}`,
		"bad id":          `{"credentials":[{"id":"a b",` + meta + `,"claims":[{"path":["name"]}]}]}`,
		"mso_mdoc":        `{"credentials":[{"id":"a","format":"mso_mdoc","meta":{"doctype_value":"x"},"claims":[{"path":["name"]}]}]}`,
		"another vct":     `{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["x"]},"claims":[{"path":["name"]}]}]}`,
		"no claims":       `{"credentials":[{"id":"a",` + meta + `}]}`,
		"unknown claim":   `{"credentials":[{"id":"a",` + meta + `,"claims":[{"path":["email"]}]}]}`,
		"nested path":     `{"credentials":[{"id":"a",` + meta + `,"claims":[{"path":["name","x"]}]}]}`,
		"iss":             `{"credentials":[{"id":"a",` + meta + `,"claims":[{"path":["iss"]}]}]}`,
		"twice":           `{"credentials":[{"id":"a",` + meta + `,"claims":[{"path":["name"]},{"path":["name"]}]}]}`,
		"claim_sets":      `{"credentials":[{"id":"a",` + meta + `,"claims":[{"id":"n","path":["name"]}],"claim_sets":[["n"]]}]}`,
	} {
		if _, err := ParseDCQL([]byte(s)); !errors.Is(err, ErrDCQL) {
			t.Errorf("%s: %v, want ErrDCQL", name, err)
		}
	}
}

func FuzzParseDCQL(f *testing.F) {
	f.Add(`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["urn:epermit:vct:permit-linkage:1"]},"claims":[{"path":["name"]}]}]}`)
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseDCQL([]byte(s))
		if err == nil && (len(q.Claims) == 0 || !dcqlIDRE.MatchString(q.ID)) {
			t.Fatalf("accepted %+v", q)
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
