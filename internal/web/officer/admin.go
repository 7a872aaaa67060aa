package officer

import (
	"net/http"

	"github.com/epermit/epermit/internal/authority"
	"github.com/epermit/epermit/permit"
)

// adminView is the client management page's data.
type adminView struct {
	Role    string
	Kinds   []string
	Clients []permit.Client
	Key     string // a new key, shown once
	KeyFor  string
}

func (s *Handler) consoleAdmin(w http.ResponseWriter, r *http.Request, c *consoleCtx) {
	role := r.PathValue("role")
	if role != permit.RoleVerifier && role != permit.RoleInstitution && role != permit.RoleOfficer {
		s.render(w, r, http.StatusNotFound, "denied", c, consoleData{Error: "officer.err.not_found"})
		return
	}
	v := adminView{Role: role, Kinds: authority.ClientKinds(role)}
	d := consoleData{}
	if r.Method == http.MethodPost {
		name := r.PostFormValue("name")
		var err error
		switch op := r.PostFormValue("op"); op {
		case "add":
			_, v.Key, err = s.a.AddClient(r.Context(), role, name, r.PostFormValue("kind"))
		case "rotate":
			v.Key, err = s.a.RotateClientKey(r.Context(), role, name)
		case "disable", "enable":
			if op == "disable" && role == permit.RoleOfficer && name == c.officer.Name {
				// An admin locking themself out mid-session helps nobody.
				err = permit.Errorf(permit.ECodeConflict, "you cannot disable yourself")
			} else {
				err = s.a.SetClientDisabled(r.Context(), role, name, op == "disable")
			}
		default:
			err = permit.Errorf(permit.ECodeInvalid, "unknown operation")
		}
		if err != nil {
			_, d.Error = s.pageErr(r, err)
		} else {
			d.Notice = "officer.admin.done"
			if v.Key != "" {
				v.KeyFor = name
			}
		}
	}
	cs, err := s.a.Clients(r.Context(), role)
	if err != nil {
		s.site.Error(w, r, err)
		return
	}
	v.Clients = cs
	d.Data = v
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "admin", c, d)
}
