package incidents

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
)

func open(id string, opened int64, severity string, services ...string) *domain.Incident {
	return &domain.Incident{Tenant: "t", ID: id, Status: domain.IncidentOpen, OpenedNano: opened, Severity: severity, Services: services,
		Timeline: []domain.IncidentEvent{{TimeUnixNano: opened, Kind: "opened", Text: id + " opened"}}}
}

func TestTransitions(t *testing.T) {
	in := open("i", 10, "high")
	require.NoError(t, acknowledge(in, 20, "ann"))
	assert.Equal(t, domain.IncidentAcknowledged, in.Status)
	assert.Equal(t, "ann", in.AcknowledgedBy)
	assert.ErrorIs(t, acknowledge(in, 21, "bob"), ErrTransition, "acknowledged once")

	require.NoError(t, acceptNewNormal(in, 25, "ann"))
	assert.True(t, AcceptedSince(in, 25))
	assert.False(t, AcceptedSince(in, 26))

	require.NoError(t, resolve(in, 30, "ann", ""))
	assert.Equal(t, domain.IncidentResolved, in.Status)
	assert.Equal(t, int64(30), in.ResolvedNano)
	assert.Equal(t, "resolved by ann", in.Timeline[len(in.Timeline)-1].Text)
	assert.ErrorIs(t, resolve(in, 31, "bob", ""), ErrTransition, "resolved once, whoever tries")
	assert.ErrorIs(t, acknowledge(in, 31, "bob"), ErrTransition)
	assert.ErrorIs(t, acceptNewNormal(in, 31, "bob"), ErrTransition)

	require.NoError(t, reopen(in, 40, "cy"))
	assert.Equal(t, domain.IncidentOpen, in.Status)
	assert.Zero(t, in.ResolvedNano)
	assert.Empty(t, in.AcknowledgedBy, "a reopened incident is acknowledged anew")
	assert.ErrorIs(t, reopen(in, 41, "cy"), ErrTransition, "only a resolved incident reopens")

	quiet := open("q", 10, "low")
	require.NoError(t, resolve(quiet, 50, "", "every series back inside its band for 5m0s"))
	last := quiet.Timeline[len(quiet.Timeline)-1]
	assert.Equal(t, "resolved", last.Kind)
	assert.Equal(t, "every series back inside its band for 5m0s", last.Text, "the detector says why")
	assert.Empty(t, last.Actor)
}

// TestMergeRule: one rule whoever merges — the detector or a person.
func TestMergeRule(t *testing.T) {
	dst := open("a", 100, "medium", "checkout")
	dst.AnomalyIDs = []string{"x1", "x2"}
	src := open("b", 50, "critical", "payment", "checkout")
	src.AnomalyIDs = []string{"x2", "x3"}
	src.Timeline = append(src.Timeline, domain.IncidentEvent{TimeUnixNano: 60, Kind: "merged", Text: "c merged into this incident"},
		domain.IncidentEvent{TimeUnixNano: 70, Kind: "anomaly", Text: "payment slow"})

	merge(dst, src)
	assert.Equal(t, []string{"x1", "x2", "x3"}, dst.AnomalyIDs, "each anomaly once")
	assert.Equal(t, []string{"checkout", "payment"}, dst.Services, "each service once, dst's first")
	assert.Equal(t, "critical", dst.Severity, "the higher severity")
	assert.Equal(t, int64(50), dst.OpenedNano, "the earlier opening")
	var kinds []string
	var times []int64
	for _, ev := range dst.Timeline {
		kinds, times = append(kinds, ev.Kind), append(times, ev.TimeUnixNano)
	}
	assert.Equal(t, []string{"anomaly", "anomaly", "opened"}, kinds, "src's opening is an anomaly of dst; its merge notes stay behind")
	assert.IsNonDecreasing(t, times)

	require.NoError(t, markMerged(src, "a", 200, "ann"))
	assert.Equal(t, domain.IncidentResolved, src.Status)
	assert.Equal(t, "merged into a by ann", src.Timeline[len(src.Timeline)-1].Text)
	assert.ErrorIs(t, markMerged(src, "a", 201, "ann"), ErrTransition, "merged once")
	other := open("c", 1, "low")
	require.NoError(t, markMerged(other, "a", 5, ""))
	assert.Equal(t, "merged into a", other.Timeline[len(other.Timeline)-1].Text, "the detector merges without a name")
}

// TestLifecycleOverAStore: each person's change is one compare-and-set;
// a lost race is decided again on what the winner left.
func TestLifecycleOverAStore(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	require.NoError(t, st.UpdateIncident(ctx, *open("i", 10, "high", "payment"), 0))
	var told []string
	lc := New(st, nil, func(in domain.Incident, reason string) { told = append(told, in.ID+" "+reason) }, nil)
	lc.now = func() time.Time { return time.Unix(0, 100) }

	// Someone resolves it between our read and our write: the
	// acknowledgement is judged again and refused.
	st.race = func(s *memStore) {
		in := s.get("i")
		require.NoError(t, resolve(&in, 90, "bob", ""))
		require.NoError(t, s.UpdateIncident(ctx, in, in.Version))
	}
	_, err := lc.Acknowledge(ctx, "t", "i", "ann")
	assert.ErrorIs(t, err, ErrTransition)
	assert.Equal(t, "resolved by bob", st.get("i").Timeline[1].Text)

	in, err := lc.Reopen(ctx, "t", "i", "ann")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentOpen, in.Status)
	assert.Equal(t, int64(100), in.UpdatedNano)
	_, err = lc.Resolve(ctx, "t", "i", "inquest (proposal p1 verified)")
	require.NoError(t, err)
	assert.Equal(t, "resolved by inquest (proposal p1 verified)", st.get("i").Timeline[3].Text, "a verified remediation resolves by the same rule")
	assert.Equal(t, []string{"i reopened", "i resolved"}, told)

	_, err = lc.Resolve(ctx, "t", "nope", "ann")
	assert.Error(t, err)
}

// TestLifecycleMerge: the others are resolved as merged first, then the
// target takes them in; their anomalies point at the target.
func TestLifecycleMerge(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	a, b := open("a", 100, "medium", "checkout"), open("b", 50, "high", "payment")
	a.AnomalyIDs, b.AnomalyIDs = []string{"x1"}, []string{"x2"}
	for _, in := range []*domain.Incident{a, b} {
		require.NoError(t, st.UpdateIncident(ctx, *in, 0))
	}
	require.NoError(t, st.PutAnomalies(ctx, []domain.Anomaly{{Tenant: "t", ID: "x2", StartNano: 50, IncidentID: "b"}}))
	lc := New(st, nil, nil, nil)
	lc.now = func() time.Time { return time.Unix(0, 200) }

	got, err := lc.Merge(ctx, "t", "a", []string{"b"}, "ann")
	require.NoError(t, err)
	assert.Equal(t, []string{"checkout", "payment"}, got.Services)
	assert.Equal(t, "high", got.Severity)
	assert.Equal(t, int64(50), got.OpenedNano)
	assert.Equal(t, domain.IncidentResolved, st.get("b").Status)
	x2, err := st.Anomaly(ctx, "t", "x2")
	require.NoError(t, err)
	assert.Equal(t, "a", x2.IncidentID)

	_, err = lc.Merge(ctx, "t", "a", []string{"b"}, "ann")
	assert.ErrorIs(t, err, ErrTransition, "merged once")
	_, err = lc.Merge(ctx, "t", "a", []string{"a"}, "ann")
	assert.ErrorIs(t, err, ErrTransition, "not into itself")
}
