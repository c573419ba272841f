package detection

import (
	"context"

	"github.com/inquest/inquest/domain"
)

// Sink takes what the detector finds; it is how anomalies become incidents
// (agents/incidents.Grouper), and the detector knows nothing of those. The
// detector calls it with its own lock held, in this order each tick: Sync,
// then Raised and Ended while scoring, Group with the anomalies the steps
// opened, and Housekeep.
type Sink interface {
	// Sync reads back what people changed since the last tick.
	Sync(ctx context.Context)
	// Group takes the anomalies opened in the steps just scored and may set
	// their IncidentID; the detector stores and publishes them afterwards.
	Group(ctx context.Context, opened []*domain.Anomaly)
	// Raised is an ongoing anomaly whose severity rose.
	Raised(ctx context.Context, a *domain.Anomaly)
	// Ended is an anomaly back inside its band.
	Ended(ctx context.Context, a *domain.Anomaly)
	// Deployed is a deploy change event of a service (its attributes say
	// what changed: version, previous_version, commit, author, description).
	Deployed(d domain.Event)
	// Accepted tells whether a person took the open anomaly's level as
	// its series' new normal (through its incident).
	Accepted(a *domain.Anomaly) bool
	// Housekeep runs once a tick, after scoring.
	Housekeep(ctx context.Context, now int64)
}

// noSink drops what is found: detection alone (the NAB replay).
type noSink struct{}

func (noSink) Sync(context.Context)                     {}
func (noSink) Group(context.Context, []*domain.Anomaly) {}
func (noSink) Raised(context.Context, *domain.Anomaly)  {}
func (noSink) Ended(context.Context, *domain.Anomaly)   {}
func (noSink) Deployed(domain.Event)                    {}
func (noSink) Housekeep(context.Context, int64)         {}
func (noSink) Accepted(*domain.Anomaly) bool            { return false }
