package server

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/inquest/inquest/agents/journey"
	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/redisstore"
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

// newJourney connects the parts of an incident's journey: what the
// detector and people change goes to the notifiers and the investigator,
// finished investigations to the remediation flow, its proposals to
// subscribers, notifiers and Slack, and verified remediations back to the
// incident.
func (s *Server) newJourney() {
	d := journey.Deps{Incidents: s.incidents, Updates: s.updates, Investigator: s.investigator, Remediation: s.remediation}
	if s.notifier != nil {
		d.Notifier = s.notifier
	}
	s.journey = journey.New(journey.Config{Investigate: s.cfg.InvestigateIncidents}, d, s.logger)
	s.remediation.Published = s.journey.ProposalChanged
	s.remediation.OnRelieved = s.journey.ProposalVerified
	s.investigator.OnDone(s.journey.InvestigationDone)
	if s.grouper != nil {
		s.grouper.OnIncident(s.journey.IncidentChanged)
		s.grouper.Watch(s.journey.IncidentSeen)
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
