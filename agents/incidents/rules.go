package incidents

import (
	"fmt"
	"sort"
	"strings"

	"github.com/inquest/inquest/domain"
)

// The rules of an incident's journey, each a change of one incident in
// memory. The Grouper (the detector's side) and the Lifecycle (people's,
// and the remediation's) apply the same ones, so that an incident is
// merged, resolved and reopened one way whoever does it; the caller stores
// the result with a compare-and-set.

// acknowledge: an open incident is being handled by actor.
func acknowledge(in *domain.Incident, now int64, actor string) error {
	if in.Status != domain.IncidentOpen {
		return fmt.Errorf("%w: it is %s, not open", ErrTransition, in.Status)
	}
	in.Status, in.AcknowledgedBy = domain.IncidentAcknowledged, actor
	in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "acknowledged", Actor: actor, Text: "acknowledged by " + actor})
	return nil
}

// resolve closes an incident that is not closed: by a person, by a
// verified remediation (actor names it) or by the detector once every
// series has been quiet (actor empty, why says so).
func resolve(in *domain.Incident, now int64, actor, why string) error {
	if in.Status == domain.IncidentResolved {
		return fmt.Errorf("%w: it is resolved already", ErrTransition)
	}
	if why == "" {
		why = "resolved by " + actor
	}
	in.Status, in.ResolvedNano = domain.IncidentResolved, now
	in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "resolved", Actor: actor, Text: why})
	return nil
}

// reopen opens a resolved incident again; whoever acknowledged it before
// has to again.
func reopen(in *domain.Incident, now int64, actor string) error {
	if in.Status != domain.IncidentResolved {
		return fmt.Errorf("%w: it is %s, not resolved", ErrTransition, in.Status)
	}
	in.Status, in.ResolvedNano, in.AcknowledgedBy = domain.IncidentOpen, 0, ""
	in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "reopened", Actor: actor, Text: "reopened by " + actor})
	return nil
}

// acceptNewNormal records that actor takes the level of the incident's
// series as their new normal (the detector re-learns them).
func acceptNewNormal(in *domain.Incident, now int64, actor string) error {
	if in.Status == domain.IncidentResolved {
		return fmt.Errorf("%w: it is resolved", ErrTransition)
	}
	in.Timeline = append(in.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "accepted", Actor: actor,
		Text: "the level of its series accepted as the new normal by " + actor})
	return nil
}

// markMerged resolves src as merged into the incident into; an incident is
// merged once.
func markMerged(src *domain.Incident, into string, now int64, actor string) error {
	if src.Status == domain.IncidentResolved && wasMerged(src) {
		return fmt.Errorf("%w: %s was merged already", ErrTransition, src.ID)
	}
	text := "merged into " + into
	if actor != "" {
		text += " by " + actor
	}
	src.Status, src.ResolvedNano = domain.IncidentResolved, now
	src.Timeline = append(src.Timeline, domain.IncidentEvent{TimeUnixNano: now, Kind: "merged", Actor: actor, Text: text})
	return nil
}

// merge is the one merge rule: dst takes src's anomalies and services (once
// each), its timeline in time order (its opening becomes one anomaly among
// dst's, and the notes of earlier merges stay with the incident they
// describe), the higher severity and the earlier opening.
func merge(dst, src *domain.Incident) {
	dst.AnomalyIDs = union(dst.AnomalyIDs, src.AnomalyIDs)
	dst.Services = union(dst.Services, src.Services)
	for _, ev := range src.Timeline {
		switch ev.Kind {
		case "merged":
			continue
		case "opened":
			ev.Kind = "anomaly" // an incident opens once: dst's entry says when
		}
		dst.Timeline = append(dst.Timeline, ev)
	}
	sort.SliceStable(dst.Timeline, func(i, j int) bool { return dst.Timeline[i].TimeUnixNano < dst.Timeline[j].TimeUnixNano })
	if domain.SeverityRank(src.Severity) > domain.SeverityRank(dst.Severity) {
		dst.Severity = src.Severity
	}
	if src.OpenedNano != 0 && (dst.OpenedNano == 0 || src.OpenedNano < dst.OpenedNano) {
		dst.OpenedNano = src.OpenedNano
	}
}

// wasMerged tells whether the incident was merged into another.
func wasMerged(in *domain.Incident) bool {
	for _, e := range in.Timeline {
		if e.Kind == "merged" && strings.HasPrefix(e.Text, "merged into") {
			return true
		}
	}
	return false
}

// union adds the strings of more that xs lacks, keeping xs' order.
func union(xs, more []string) []string {
	for _, x := range more {
		if !contains(xs, x) {
			xs = append(xs, x)
		}
	}
	return xs
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
