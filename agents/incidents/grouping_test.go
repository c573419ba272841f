package incidents

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

type groupRig struct {
	t     *testing.T
	st    *memStore
	g     *Grouper
	now   time.Time
	told  []string
	seen  int
	ctx   context.Context
	count int
}

// newRig groups over frontend → checkout → payment, with search apart.
func newRig(t *testing.T) *groupRig {
	r := &groupRig{t: t, ctx: context.Background(), now: time.Unix(1_000_000, 0),
		st: newMemStore(domain.ServiceEdge{Source: "frontend", Target: "checkout", Calls: 10}, domain.ServiceEdge{Source: "checkout", Target: "payment", Calls: 10})}
	r.g = NewGrouper(GroupConfig{GroupWindow: 5 * time.Minute, ResolveAfter: 5 * time.Minute}, r.st, nil, nil, nil)
	r.g.SetClock(func() time.Time { return r.now })
	r.g.OnIncident(func(in domain.Incident, reason string) { r.told = append(r.told, reason) })
	r.g.Watch(func(domain.Incident) { r.seen++ })
	return r
}

func (r *groupRig) anomaly(service, severity string) *domain.Anomaly {
	r.count++
	return &domain.Anomaly{Tenant: "t", ID: service + "-" + string(rune('0'+r.count)), Series: "red:" + service + ":p99_ms", Service: service,
		Signal: "p99_ms", Severity: severity, StartNano: r.now.UnixNano(), Score: 5, Expected: 100, Observed: 900}
}

func (r *groupRig) open() []domain.Incident {
	all, err := r.st.Incidents(r.ctx, "t", domain.TimeRange{End: 1 << 62}, domain.IncidentOpen)
	require.NoError(r.t, err)
	return all
}

func TestGrouperOpensAndJoins(t *testing.T) {
	r := newRig(t)
	r.g.Group(r.ctx, []*domain.Anomaly{r.anomaly("search", "low")})
	assert.Empty(t, r.open(), "a low anomaly alone opens nothing")

	pay := r.anomaly("payment", "high")
	r.g.Group(r.ctx, []*domain.Anomaly{pay})
	require.Len(t, r.open(), 1)
	in := r.open()[0]
	assert.Equal(t, pay.IncidentID, in.ID)
	assert.Equal(t, []string{"opened"}, r.told)
	assert.Contains(t, in.Title, "payment")

	r.now = r.now.Add(time.Minute)
	r.g.Group(r.ctx, []*domain.Anomaly{r.anomaly("checkout", "critical")})
	require.Len(t, r.open(), 1, "a neighbour in the graph joins")
	in = r.open()[0]
	assert.Equal(t, []string{"payment", "checkout"}, in.Services, "root-most first")
	assert.Equal(t, "critical", in.Severity, "escalated by the worse anomaly")
	assert.Equal(t, []string{"opened", "escalated"}, r.told)

	r.g.Group(r.ctx, []*domain.Anomaly{r.anomaly("search", "high")})
	assert.Len(t, r.open(), 2, "an unrelated service opens its own")
	assert.Equal(t, 3, r.seen, "every stored change is watched (investigations start from it)")
}

// TestGrouperMergesWhatAnAnomalyJoins: an anomaly related to two open
// incidents joins them into the older, by the one merge rule.
func TestGrouperMergesWhatAnAnomalyJoins(t *testing.T) {
	r := newRig(t)
	r.g.Group(r.ctx, []*domain.Anomaly{r.anomaly("payment", "high")})
	r.now = r.now.Add(time.Minute)
	r.g.Group(r.ctx, []*domain.Anomaly{r.anomaly("frontend", "medium")})
	require.Len(t, r.open(), 2, "payment and frontend are two hops apart")
	older := r.open()[1]

	r.now = r.now.Add(time.Minute)
	r.g.Group(r.ctx, []*domain.Anomaly{r.anomaly("checkout", "medium")})
	open := r.open()
	require.Len(t, open, 1)
	assert.Equal(t, older.ID, open[0].ID, "into the older")
	assert.ElementsMatch(t, []string{"payment", "frontend", "checkout"}, open[0].Services)
	assert.Len(t, open[0].AnomalyIDs, 3)
	var merged int
	for _, in := range r.st.incidents {
		if in.Status == domain.IncidentResolved && wasMerged(&in) {
			merged++
		}
	}
	assert.Equal(t, 1, merged, "the younger is resolved as merged")
}

// TestGrouperResolvesTheQuiet: once every anomaly has ended and
// ResolveAfter passed, the incident resolves, by the same rule as a person.
func TestGrouperResolvesTheQuiet(t *testing.T) {
	r := newRig(t)
	a := r.anomaly("payment", "high")
	r.g.Group(r.ctx, []*domain.Anomaly{a})
	r.g.Housekeep(r.ctx, r.now.Add(time.Hour).UnixNano())
	require.Len(t, r.open(), 1, "an ongoing anomaly keeps it open")

	r.now = r.now.Add(time.Minute)
	a.EndNano = r.now.UnixNano()
	r.g.Ended(r.ctx, a)
	r.g.Housekeep(r.ctx, r.now.Add(4*time.Minute).UnixNano())
	require.Len(t, r.open(), 1, "not before ResolveAfter")
	r.g.Housekeep(r.ctx, r.now.Add(5*time.Minute).UnixNano())
	assert.Empty(t, r.open())
	in := r.st.get(a.IncidentID)
	assert.Equal(t, domain.IncidentResolved, in.Status)
	assert.Contains(t, in.Timeline[len(in.Timeline)-1].Text, "back inside its band for 5m0s")
}

// TestGrouperKeepsAPersonsChange: a person resolves an incident between the
// detector's read and its write; the write keeps their status and adds the
// detector's anomaly.
func TestGrouperKeepsAPersonsChange(t *testing.T) {
	r := newRig(t)
	a := r.anomaly("payment", "high")
	r.g.Group(r.ctx, []*domain.Anomaly{a})
	r.st.race = func(s *memStore) {
		in := s.get(a.IncidentID)
		require.NoError(t, acknowledge(&in, r.now.UnixNano(), "ann"))
		require.NoError(t, s.UpdateIncident(r.ctx, in, in.Version))
	}
	r.now = r.now.Add(time.Minute)
	r.g.Group(r.ctx, []*domain.Anomaly{r.anomaly("payment", "critical")})
	in := r.st.get(a.IncidentID)
	assert.Equal(t, domain.IncidentAcknowledged, in.Status, "people own the status")
	assert.Equal(t, "ann", in.AcknowledgedBy)
	assert.Len(t, in.AnomalyIDs, 2, "the detector owns the anomalies")
	assert.Equal(t, "critical", in.Severity)

	// Reading back before the next tick: a resolved incident is let go, and
	// the next anomaly of payment opens a new one.
	require.NoError(t, resolve(&in, r.now.UnixNano(), "ann", ""))
	require.NoError(t, r.st.UpdateIncident(r.ctx, in, in.Version))
	r.g.Sync(r.ctx)
	r.now = r.now.Add(time.Minute)
	b := r.anomaly("payment", "high")
	r.g.Group(r.ctx, []*domain.Anomaly{b})
	assert.NotEqual(t, a.IncidentID, b.IncidentID)
}

// TestGrouperTakesUpOpenIncidents: a restarted detector adds to the
// incidents it left open instead of opening new ones.
func TestGrouperTakesUpOpenIncidents(t *testing.T) {
	r := newRig(t)
	a := r.anomaly("payment", "high")
	r.g.Group(r.ctx, []*domain.Anomaly{a})

	again := newRig(t)
	again.st = r.st
	again.g = NewGrouper(GroupConfig{GroupWindow: 5 * time.Minute, ResolveAfter: 5 * time.Minute}, r.st, nil, nil, nil)
	again.g.SetClock(func() time.Time { return r.now })
	require.NoError(t, again.g.Start(r.ctx))
	r.now = r.now.Add(time.Minute)
	b := again.anomaly("checkout", "high")
	again.g.Group(r.ctx, []*domain.Anomaly{b})
	assert.Equal(t, a.IncidentID, b.IncidentID)
}

// TestGrouperAfterADeploy: a deploy shortly before brings anomalies two
// hops from the deployed service into its incident, and the timeline shows
// the change; without it they would be two incidents.
func TestGrouperAfterADeploy(t *testing.T) {
	r := newRig(t)
	var d domain.Event
	d.Tenant, d.Service, d.TimeUnixNano = "t", "payment", r.now.Add(-2*time.Minute).UnixNano()
	d.Attrs.Put(domain.ChangeTypeAttr, "deploy")
	d.Attrs.Put("version", "2.3.1")
	d.Attrs.Put("previous_version", "2.3.0")
	r.g.Deployed(d)
	pay := r.anomaly("payment", "high")
	r.g.Group(r.ctx, []*domain.Anomaly{pay})
	r.now = r.now.Add(time.Minute)
	front := r.anomaly("frontend", "medium")
	r.g.Group(r.ctx, []*domain.Anomaly{front})
	assert.Equal(t, pay.IncidentID, front.IncidentID, "two hops from a fresh deploy")
	in := r.st.get(pay.IncidentID)
	var deploys int
	for _, ev := range in.Timeline {
		if ev.Kind == "deploy" {
			deploys++
			assert.Contains(t, ev.Text, "payment deployed 2.3.1 (was 2.3.0), 2m0s before the anomaly")
		}
	}
	assert.Equal(t, 1, deploys)
}

// TestGrouperEscalates: an anomaly whose severity rises raises its
// incident's, once, with a timeline line and an "escalated" notification.
func TestGrouperEscalates(t *testing.T) {
	r := newRig(t)
	a := r.anomaly("payment", "medium")
	r.g.Group(r.ctx, []*domain.Anomaly{a})
	a.Severity = "critical"
	r.g.Raised(r.ctx, a)
	r.g.Raised(r.ctx, a) // not higher than the incident's now: nothing
	in := r.st.get(a.IncidentID)
	assert.Equal(t, "critical", in.Severity)
	assert.Equal(t, []string{"opened", "escalated"}, r.told)
}
