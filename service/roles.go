package service

import (
	"context"
	"sort"
	"time"

	"github.com/inquest/inquest/auth"
)

// Operation names are the GraphQL root fields' names; MCP tools and Slack
// actions name the operation they call, so that one table decides for
// every face.
var roles = map[string]auth.Role{
	// Reading telemetry.
	"aggregate": auth.RoleViewer, "events": auth.RoleViewer, "trace": auth.RoleViewer, "traces": auth.RoleViewer, "bubbleUp": auth.RoleViewer,
	"services": auth.RoleViewer, "serviceMap": auth.RoleViewer,
	"metricSeries": auth.RoleViewer, "metricNames": auth.RoleViewer,
	"tail": auth.RoleViewer,
	// Dead letters.
	"deadLetters": auth.RoleViewer, "replayDeadLetter": auth.RoleResponder,
	// Anomalies, incidents and rules.
	"anomalies": auth.RoleViewer, "incidents": auth.RoleViewer, "incident": auth.RoleViewer, "rules": auth.RoleViewer,
	"anomalyDetected": auth.RoleViewer, "incidentUpdated": auth.RoleViewer,
	"acknowledgeIncident": auth.RoleResponder, "resolveIncident": auth.RoleResponder,
	"reopenIncident": auth.RoleResponder, "mergeIncidents": auth.RoleResponder, "acceptNewNormal": auth.RoleResponder,
	"createRule": auth.RoleResponder, "deleteRule": auth.RoleResponder,
	// Investigations: reading them is viewing; starting one spends the
	// process's workers and is audited, as is recording a change.
	"investigation": auth.RoleViewer, "investigations": auth.RoleViewer, "investigationProgress": auth.RoleViewer,
	"startInvestigation": auth.RoleResponder, "recordChange": auth.RoleResponder,
	// Remediation: deciding needs a responder at least; which approver
	// level a proposal's risk needs, the approval flow's policy says.
	"proposals": auth.RoleViewer, "proposal": auth.RoleViewer, "proposalUpdated": auth.RoleViewer,
	"approveProposal": auth.RoleResponder, "rejectProposal": auth.RoleResponder,
	"executeProposal": auth.RoleResponder, "rollbackProposal": auth.RoleResponder,
	// The approval policy and runbooks decide who approves what, so only
	// admins change them.
	"approvalPolicy": auth.RoleViewer, "runbooks": auth.RoleViewer,
	"setApprovalPolicy": auth.RoleAdmin, "putRunbook": auth.RoleAdmin, "deleteRunbook": auth.RoleAdmin,
	// The ask box: reading, with the caller's rights checked again for
	// every tool it calls.
	"ask": auth.RoleViewer, "askStream": auth.RoleViewer,
	// Administration.
	"apiKeys": auth.RoleAdmin, "createAPIKey": auth.RoleAdmin, "revokeAPIKey": auth.RoleAdmin,
	"usage": auth.RoleAdmin, "auditLog": auth.RoleAdmin, "pipeline": auth.RoleAdmin,
}

// scans are the operations that read many stored rows: refused while the
// process is near its memory limit.
var scans = map[string]bool{"aggregate": true, "events": true, "services": true, "serviceMap": true, "bubbleUp": true,
	"metricSeries": true, "trace": true, "traces": true}

// RoleOf is the role an operation needs; ok is false for an operation the
// table does not know (which nobody may call).
func RoleOf(op string) (role auth.Role, ok bool) {
	role, ok = roles[op]
	return role, ok
}

// Operations lists the operations of the role table, sorted.
func Operations() []string {
	out := make([]string, 0, len(roles))
	for op := range roles {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

// scan admits one of the tenant's queries that read many rows, after
// allow: at most MaxScans run at once for a tenant, so that one tenant's
// burst cannot take every core and the store's memory from the others.
// One more waits for a slot (a dashboard's panels queue rather than
// fail) and is refused after ScanWait. Call release when the query ends.
func (s *Service) scan(ctx context.Context, p Principal, op string) (release func(), err error) {
	if err := s.allow(ctx, p, op); err != nil {
		return nil, err
	}
	if s.cfg.MaxScans <= 0 {
		return func() {}, nil
	}
	s.mu.Lock()
	slots := s.running[p.Tenant]
	if slots == nil {
		slots = make(chan struct{}, s.cfg.MaxScans)
		s.running[p.Tenant] = slots
	}
	s.mu.Unlock()
	release = func() { <-slots }
	select {
	case slots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(s.cfg.ScanWait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, Unavailable("%s: the request ended while waiting for one of the tenant's %d query slots", op, s.cfg.MaxScans)
	case <-t.C:
		return nil, Unavailable("%s: the tenant already runs %d queries (--max-queries-per-tenant) and none ended within %s; try again shortly",
			op, s.cfg.MaxScans, s.cfg.ScanWait)
	}
}

// allow checks that p may call op, and writes a refusal to the tenant's
// audit log. Every operation of the service starts with it.
func (s *Service) allow(ctx context.Context, p Principal, op string) error {
	if p.Tenant == "" {
		return Invalid("no tenant for this request")
	}
	role, ok := roles[op]
	if !ok {
		return Forbidden("forbidden: %s is not an operation", op)
	}
	if p.Has(role) {
		if scans[op] && s.cfg.Pressed != nil && s.cfg.Pressed() {
			return Unavailable("the server is near its memory limit: %s is refused for now, try again shortly", op)
		}
		return nil
	}
	s.audit(ctx, p, "access.denied", op, "denied", "needs the "+string(role)+" role")
	return Forbidden("forbidden: %s needs the %s role", op, role)
}
