package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/inquest/inquest/agents/incidents"
	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/redisstore"
	"github.com/inquest/inquest/storage/updates"
)

// newRemediation builds the approval flow over the embedded store or,
// with Redis, one every replica shares (so that two approvals landing on
// two gateways execute once). The executor is the dry run unless one is
// configured; with --demo (and none configured) a signed webhook to the
// demo shop's own deploy API, so that the loop closes on the demo.
func (s *Server) newRemediation(store storage.Store) error {
	s.proposals = store
	if s.redis != nil {
		s.proposals = redisstore.NewProposals(s.redis, "inquest:")
	}
	var notifyFn func(domain.Incident, string)
	if s.notifier != nil {
		notifyFn = s.notifier.Notify
	}
	s.lifecycle = incidents.New(s.incidents, s.updates, notifyFn, s.logger)
	exec, err := s.remediationExecutor()
	if err != nil {
		return err
	}
	rcfg := remediate.Config{VerifyFor: s.cfg.RemediationVerifyFor, Settings: s.embedded}
	if s.redis != nil {
		rcfg.Settings = redisstore.NewSettings(s.redis, "inquest:")
	}
	if s.cfg.RemediationPolicyFile != "" {
		fp, err := remediate.LoadPolicies(s.cfg.RemediationPolicyFile)
		if err != nil {
			return err
		}
		rcfg.Policy, rcfg.Levels, rcfg.Tenants = fp.Policy, fp.Levels, fp.Tenants
	}
	if s.cfg.RemediationRunbooksFile != "" {
		var err error
		if rcfg.Runbooks, err = remediate.LoadRunbooks(s.cfg.RemediationRunbooksFile); err != nil {
			return err
		}
	}
	s.remediation = remediate.New(rcfg, s.proposals, exec, store,
		remediate.VerifyByAnomalies(s.incidents), s.logger)
	s.remediation.Published = func(p domain.Proposal) {
		s.updates.Publish(updates.Update{Proposal: &p})
		if reason := tellable(p); reason != "" && s.notifier != nil {
			s.notifier.NotifyProposal(p, reason)
		}
		if s.slack != nil {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				s.slack.Post(ctx, p)
			}()
		}
	}
	s.remediation.OnSucceeded = func(ctx context.Context, p domain.Proposal) {
		if p.IncidentID == "" {
			return
		}
		if _, err := s.lifecycle.Resolve(ctx, p.Tenant, p.IncidentID, "inquest (proposal "+p.ID+" verified)"); err != nil {
			s.logger.Warn("incident not resolved after a verified remediation", "incident", p.IncidentID, "err", err)
		}
	}
	s.sweeper = &sweeper{flow: s.remediation, every: 10 * time.Second, logger: s.logger}
	return nil
}

// remediationExecutor is what carries out approved proposals, as
// configured; with --demo and none configured, a signed webhook to the
// demo shop's deploy API (its URL is known once the server listens).
func (s *Server) remediationExecutor() (remediate.Executor, error) {
	var exec remediate.Executor
	switch s.cfg.RemediationExecutor {
	case "", "dry-run":
		if s.cfg.Demo && s.cfg.RemediationExecutor == "" {
			secret := make([]byte, 32)
			_, _ = rand.Read(secret)
			s.demoDeploy = &remediate.WebhookExecutor{Secret: secret} // its URL is known once the server listens
			exec = s.demoDeploy
		}
	case "webhook":
		secret, err := s.cfg.RemediationWebhookKey()
		if err != nil {
			return nil, err
		}
		if s.cfg.RemediationWebhookURL == "" || len(secret) == 0 {
			return nil, fmt.Errorf("remediation-executor webhook needs remediation-webhook-url and a secret (INQUEST_REMEDIATION_WEBHOOK_SECRET or remediation-webhook-secret-file)")
		}
		exec = &remediate.WebhookExecutor{URL: s.cfg.RemediationWebhookURL, Secret: secret}
	case "argocd":
		token, err := s.cfg.RemediationArgoCDKey()
		if err != nil {
			return nil, err
		}
		if s.cfg.RemediationArgoCDURL == "" || token == "" {
			return nil, fmt.Errorf("remediation-executor argocd needs remediation-argocd-url and a token (INQUEST_REMEDIATION_ARGOCD_TOKEN or remediation-argocd-token-file)")
		}
		exec = &remediate.ArgoCDExecutor{URL: s.cfg.RemediationArgoCDURL, Token: token, AppPrefix: s.cfg.RemediationArgoCDAppPrefix,
			Namespace: s.cfg.RemediationNamespace}
	case "shell":
		if len(s.cfg.RemediationShellAllow) == 0 || s.cfg.RemediationRunbooksFile == "" {
			return nil, fmt.Errorf("remediation-executor shell needs --remediation-runbooks-file and the programs allowed (--remediation-shell-allow)")
		}
		rb, err := remediate.LoadRunbooks(s.cfg.RemediationRunbooksFile)
		if err != nil {
			return nil, err
		}
		exec = &remediate.ShellExecutor{Runbooks: rb, Allow: s.cfg.RemediationShellAllow}
	case "kubernetes":
		var err error
		if exec, err = kubeExecutor(s.cfg.RemediationKubeconfig, s.cfg.RemediationNamespace); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("remediation-executor: %q is none of dry-run, webhook, argocd, kubernetes, shell", s.cfg.RemediationExecutor)
	}
	return exec, nil
}

// proposeFrom makes the proposals of a finished investigation; whoever
// started it by hand is its proposer (and may not approve them).
func (s *Server) proposeFrom(ctx context.Context, inv domain.Investigation) {
	by := inv.Trigger
	if by == "incident" || by == "" {
		by = "inquest"
	}
	if _, err := s.remediation.Propose(ctx, &inv, by); err != nil {
		s.logger.Warn("proposals not made", "investigation", inv.ID, "err", err)
	}
}

// sweeper moves proposals along with time (escalation, expiry,
// verification) in every process; the compare-and-set makes concurrent
// sweeps harmless.
type sweeper struct {
	flow   *remediate.Flow
	every  time.Duration
	logger interface{ Warn(string, ...any) }

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func (w *sweeper) Start(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := w.flow.Sweep(ctx); err != nil && ctx.Err() == nil {
					w.logger.Warn("proposal sweep failed", "err", err)
				}
			}
		}
	}()
	return nil
}

func (w *sweeper) Shutdown(ctx context.Context) error {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// demoDeployHandler is the demo shop's deploy API: it takes the signed
// webhook of an approved proposal and applies it to the shop (a rollback
// of the bad deploy really ends the fault).
func (s *Server) demoDeployHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || r.Method != http.MethodPost {
			http.Error(w, "POST a signed proposal", http.StatusBadRequest)
			return
		}
		if s.demoDeploy == nil || remediate.Verify(s.demoDeploy.Secret, r.Header.Get("X-Inquest-Timestamp"),
			r.Header.Get("X-Inquest-Signature"), body, time.Now(), 5*time.Minute) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var req remediate.WebhookRequest
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if s.demo == nil {
			http.Error(w, "the demo is not running", http.StatusServiceUnavailable)
			return
		}
		out, err := s.demo.Remediate(r.Context(), req.Action, req.Target, req.Params, req.Undo, req.Proposal)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		_, _ = io.WriteString(w, out)
	})
}

// tellable is the notification a proposal's last change makes: when it is
// escalated (the next tier's approvers are asked), expired or failed.
func tellable(p domain.Proposal) string {
	if len(p.History) == 0 {
		return ""
	}
	switch k := p.History[len(p.History)-1].Kind; k {
	case "escalated", domain.ProposalExpired, domain.ProposalFailed:
		return "proposal_" + k
	}
	return ""
}
