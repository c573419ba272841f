package journey

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/updates"
)

// fakes: each records what the journey asked of it.

type watcher struct{ seen []string }

func (w *watcher) Watch(in domain.Incident) { w.seen = append(w.seen, in.ID) }

type flow struct {
	mu       sync.Mutex
	proposed []string
	sweeps   chan struct{}
	fail     error
}

func (f *flow) Propose(_ context.Context, inv *domain.Investigation, by string) ([]domain.Proposal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proposed = append(f.proposed, inv.ID+" by "+by)
	return nil, f.fail
}

func (f *flow) Sweep(context.Context) error {
	select {
	case f.sweeps <- struct{}{}:
	default:
	}
	return nil
}

type notifier struct {
	mu        sync.Mutex
	incidents []string
	proposals []string
}

func (n *notifier) Notify(in domain.Incident, reason string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.incidents = append(n.incidents, in.ID+" "+reason)
}

func (n *notifier) NotifyProposal(p domain.Proposal, reason string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.proposals = append(n.proposals, p.ID+" "+reason)
}

type publisher struct {
	mu  sync.Mutex
	got []updates.Update
}

func (p *publisher) Publish(u updates.Update) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, u)
}

type poster struct {
	started chan string
	release chan struct{}
	ended   chan error
}

func (p *poster) Post(ctx context.Context, pr domain.Proposal) {
	p.started <- pr.ID
	select {
	case <-p.release:
		p.ended <- nil
	case <-ctx.Done():
		p.ended <- ctx.Err()
	}
}

// incidentStore keeps one incident, with the version check of the real
// stores.
type incidentStore struct {
	storage.IncidentStore
	mu sync.Mutex
	in domain.Incident
}

func (s *incidentStore) Incident(_ context.Context, tenant, id string) (*domain.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tenant != s.in.Tenant || id != s.in.ID {
		return nil, storage.ErrNotFound
	}
	c := s.in.Clone()
	return &c, nil
}

func (s *incidentStore) UpdateIncident(_ context.Context, in domain.Incident, version int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if version != s.in.Version {
		return storage.ErrConflict
	}
	s.in = in.Clone()
	s.in.Version = version + 1
	return nil
}

func TestIncidentsReachNotifiersAndTheInvestigator(t *testing.T) {
	w, n := &watcher{}, &notifier{}
	j := New(Config{Investigate: true}, Deps{Investigator: w, Notifier: n}, nil)
	in := domain.Incident{Tenant: "t", ID: "i1", Status: domain.IncidentOpen}
	j.IncidentChanged(in, "opened")
	j.IncidentSeen(in)
	assert.Equal(t, []string{"i1 opened"}, n.incidents)
	assert.Equal(t, []string{"i1"}, w.seen)

	quiet := New(Config{Investigate: false}, Deps{Investigator: w}, nil)
	quiet.IncidentSeen(in)
	assert.Len(t, w.seen, 1, "without --investigate-incidents nothing starts by itself")
	quiet.IncidentChanged(in, "opened") // no notifier: nothing to tell, no panic
}

func TestFinishedInvestigationsBecomeProposals(t *testing.T) {
	f := &flow{}
	j := New(Config{}, Deps{Remediation: f}, nil)
	ctx := context.Background()
	j.InvestigationDone(ctx, domain.Investigation{ID: "v1", Trigger: "incident"})
	j.InvestigationDone(ctx, domain.Investigation{ID: "v2"})
	j.InvestigationDone(ctx, domain.Investigation{ID: "v3", Trigger: "user:ann"})
	f.fail = errors.New("store down")
	j.InvestigationDone(ctx, domain.Investigation{ID: "v4"}) // logged, not fatal
	assert.Equal(t, []string{"v1 by inquest", "v2 by inquest", "v3 by user:ann", "v4 by inquest"}, f.proposed,
		"the detector's are Inquest's; a person's are theirs, so they cannot approve their own")
	New(Config{}, Deps{}, nil).InvestigationDone(ctx, domain.Investigation{ID: "v5"}) // no flow here
}

func TestProposalsReachSubscribersNotifiersAndChat(t *testing.T) {
	pub, n := &publisher{}, &notifier{}
	p := &poster{started: make(chan string, 4), release: make(chan struct{}), ended: make(chan error, 4)}
	j := New(Config{}, Deps{Updates: pub, Notifier: n}, nil)
	j.PostTo(p)

	pending := domain.Proposal{ID: "p1", Status: domain.ProposalPending, History: []domain.ProposalEvent{{Kind: domain.ProposalProposed}}}
	escalated := pending
	escalated.History = append(escalated.History, domain.ProposalEvent{Kind: "escalated"})
	j.ProposalChanged(pending)
	j.ProposalChanged(escalated)
	assert.Len(t, pub.got, 2, "every change is published")
	assert.Equal(t, []string{"p1 proposal_escalated"}, n.proposals, "only what needs people is told")
	for range 2 {
		select {
		case id := <-p.started:
			assert.Equal(t, "p1", id)
		case <-time.After(10 * time.Second):
			t.Fatal("not posted")
		}
	}
	close(p.release)
	require.NoError(t, <-p.ended)
	require.NoError(t, <-p.ended)
	require.NoError(t, j.Shutdown(context.Background()))
}

// TestShutdownEndsPostsUnderWay: a post that hangs (Slack slow) is cut at
// Shutdown, which waits for it: no goroutine outlives its owner.
func TestShutdownEndsPostsUnderWay(t *testing.T) {
	p := &poster{started: make(chan string, 1), release: make(chan struct{}), ended: make(chan error, 1)}
	j := New(Config{}, Deps{}, nil)
	j.PostTo(p)
	j.ProposalChanged(domain.Proposal{ID: "p1"})
	<-p.started
	require.NoError(t, j.Shutdown(context.Background()))
	assert.ErrorIs(t, <-p.ended, context.Canceled)
	j.ProposalChanged(domain.Proposal{ID: "p2"})
	select {
	case <-p.started:
		t.Fatal("nothing is posted after Shutdown")
	default:
	}
	require.NoError(t, j.Shutdown(context.Background()), "idempotent")
}

func TestVerifiedRemediationResolvesItsIncident(t *testing.T) {
	st := &incidentStore{in: domain.Incident{Tenant: "t", ID: "i1", Status: domain.IncidentAcknowledged, Version: 3}}
	n := &notifier{}
	j := New(Config{}, Deps{Incidents: st, Notifier: n}, nil)
	ctx := context.Background()
	j.ProposalVerified(ctx, domain.Proposal{ID: "p1", Tenant: "t", IncidentID: "i1"})
	in, err := st.Incident(ctx, "t", "i1")
	require.NoError(t, err)
	assert.Equal(t, domain.IncidentResolved, in.Status)
	assert.Equal(t, "resolved by inquest (proposal p1 verified)", in.Timeline[len(in.Timeline)-1].Text)
	assert.Equal(t, []string{"i1 resolved"}, n.incidents, "told like any resolution")

	j.ProposalVerified(ctx, domain.Proposal{ID: "p2", Tenant: "t", IncidentID: "i1"}) // resolved already: logged
	assert.Len(t, n.incidents, 1)
	j.ProposalVerified(ctx, domain.Proposal{ID: "p3", Tenant: "t"})                     // no incident
	j.ProposalVerified(ctx, domain.Proposal{ID: "p4", Tenant: "t", IncidentID: "gone"}) // logged
}

func TestProposalsAreSweptUntilShutdown(t *testing.T) {
	f := &flow{sweeps: make(chan struct{}, 1)}
	j := New(Config{SweepEvery: time.Millisecond}, Deps{Remediation: f}, nil)
	require.NoError(t, j.Start(context.Background()))
	select {
	case <-f.sweeps:
	case <-time.After(10 * time.Second):
		t.Fatal("no sweep")
	}
	require.NoError(t, j.Shutdown(context.Background()))
}

func TestTellable(t *testing.T) {
	for kind, want := range map[string]string{"escalated": "proposal_escalated", domain.ProposalExpired: "proposal_expired",
		domain.ProposalFailed: "proposal_failed", domain.ProposalApproved: "", domain.ProposalProposed: ""} {
		assert.Equal(t, want, Tellable(domain.Proposal{History: []domain.ProposalEvent{{Kind: kind}}}), kind)
	}
	assert.Empty(t, Tellable(domain.Proposal{}))
}
