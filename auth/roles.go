package auth

import (
	"slices"
	"strings"
)

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

// RoleIngest may send data and nothing else: it is outside the ranks, so
// it reads nothing. Collectors and agents should hold it alone.
const RoleIngest Role = "ingest"

// CanIngest reports whether p may send data: the ingest role, or, unless
// strict, any ranked role (tokens and keys made before the ingest role
// existed keep working).
func (p *Principal) CanIngest(strict bool) bool {
	for _, held := range p.Roles {
		if Role(held) == RoleIngest || !strict && rank(held) > 0 {
			return true
		}
	}
	return false
}

// ApproverLevels are the approval tiers' levels, held as roles such as
// "approver:sre". Each is an approver; the approval flow reads the level.
var ApproverLevels = []string{"team-lead", "sre", "manager", "vp"}

// rank is the rank of a held role string, 0 for unknown roles.
func rank(held string) int {
	if level, ok := strings.CutPrefix(held, string(RoleApprover)+":"); ok {
		if slices.Contains(ApproverLevels, level) {
			return roleRank[RoleApprover]
		}
		return 0
	}
	return roleRank[Role(held)]
}

// Has reports whether p holds role r or one above it. This is the one
// place where roles are compared.
func (p *Principal) Has(r Role) bool {
	want := roleRank[r]
	if want == 0 {
		return false
	}
	return slices.ContainsFunc(p.Roles, func(held string) bool { return rank(held) >= want })
}

// Levels lists the approver levels p holds ("sre", "vp", ...).
func (p *Principal) Levels() []string {
	var out []string
	for _, held := range p.Roles {
		if level, ok := strings.CutPrefix(held, string(RoleApprover)+":"); ok && slices.Contains(ApproverLevels, level) {
			out = append(out, level)
		}
	}
	return out
}

// Valid reports whether r is one of the four ranked roles or ingest.
func (r Role) Valid() bool { return roleRank[r] > 0 || r == RoleIngest }
