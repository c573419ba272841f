package auth

import "slices"

// Role is what a principal may do. Roles are ordered: each includes the
// ones below it (an admin can do what a responder can).
type Role string

// Roles, lowest first.
const (
	RoleViewer    Role = "viewer"    // read everything of the tenant
	RoleResponder Role = "responder" // act on incidents, replay dead letters
	RoleApprover  Role = "approver"  // approve remediations
	RoleAdmin     Role = "admin"     // manage keys, settings and tenants' users
)

var roleRank = map[Role]int{RoleViewer: 1, RoleResponder: 2, RoleApprover: 3, RoleAdmin: 4}

// Has reports whether p holds role r or one above it. This is the one
// place where roles are compared.
func (p *Principal) Has(r Role) bool {
	want := roleRank[r]
	if want == 0 {
		return false
	}
	return slices.ContainsFunc(p.Roles, func(held string) bool { return roleRank[Role(held)] >= want })
}
