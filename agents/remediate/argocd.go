package remediate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/inquest/inquest/domain"
)

// ArgoCDExecutor acts through Argo CD's API, as its CLI does: a rollback
// syncs the target's application to the version asked for (Argo CD's
// ApplicationSyncRequest with a revision; "history_id" in the params
// uses its rollback to that history entry instead), a restart runs the
// Deployment's "restart" resource action. The application is the
// target's name unless AppPrefix is set ("shop-" + "payment"). Other
// actions are refused by name: a CD system does not scale or fail over.
type ArgoCDExecutor struct {
	URL       string // https://argocd.example.com
	Token     string // an Argo CD API token (bearer)
	AppPrefix string
	// Namespace is where the target's Deployment runs, for restarts.
	Namespace string
	Client    *http.Client
}

// Name is "argocd".
func (a *ArgoCDExecutor) Name() string { return "argocd" }

// DryRun is false.
func (a *ArgoCDExecutor) DryRun() bool { return false }

// argoSync is Argo CD's ApplicationSyncRequest, the fields Inquest sets.
type argoSync struct {
	Name     string     `json:"name"`
	Revision string     `json:"revision,omitempty"`
	Prune    bool       `json:"prune"`
	DryRun   bool       `json:"dryRun"`
	Infos    []argoInfo `json:"infos,omitempty"`
}

type argoInfo struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// argoRollback is Argo CD's ApplicationRollbackRequest.
type argoRollback struct {
	Name   string `json:"name"`
	ID     int64  `json:"id"`
	Prune  bool   `json:"prune"`
	DryRun bool   `json:"dryRun"`
}

// Execute runs the proposal's action in Argo CD.
func (a *ArgoCDExecutor) Execute(ctx context.Context, p domain.Proposal) (string, error) {
	return a.run(ctx, p, Params(p)["version"])
}

// Undo syncs a rolled-back application to the version it left; a restart
// has nothing to undo.
func (a *ArgoCDExecutor) Undo(ctx context.Context, p domain.Proposal) (string, error) {
	if p.Action != ActionRollback {
		return "nothing to undo: " + p.Rollback, nil
	}
	from := Params(p)["from_version"]
	if from == "" {
		return "", fmt.Errorf("argocd: the proposal does not say which version it rolled back from")
	}
	p.Params = map[string]string{"version": from}
	p.Approvals = nil
	return a.run(ctx, p, from)
}

func (a *ArgoCDExecutor) run(ctx context.Context, p domain.Proposal, version string) (string, error) {
	app := a.AppPrefix + p.Target
	base := strings.TrimSuffix(a.URL, "/") + "/api/v1/applications/" + url.PathEscape(app)
	info := []argoInfo{{Name: "inquest-proposal", Value: p.ID}}
	switch p.Action {
	case ActionRollback:
		if id := Params(p)["history_id"]; id != "" {
			var n int64
			if _, err := fmt.Sscan(id, &n); err != nil {
				return "", fmt.Errorf("argocd: history_id %q is not a number", id)
			}
			return a.post(ctx, base+"/rollback", argoRollback{Name: app, ID: n})
		}
		if version == "" {
			return "", fmt.Errorf("argocd: a rollback needs the version (a Git revision) to sync %s to", app)
		}
		return a.post(ctx, base+"/sync", argoSync{Name: app, Revision: version, Infos: info})
	case ActionRestart:
		q := url.Values{"namespace": {a.Namespace}, "resourceName": {p.Target}, "kind": {"Deployment"}, "group": {"apps"}, "version": {"v1"}}
		return a.post(ctx, base+"/resource/actions?"+q.Encode(), "restart")
	}
	return "", fmt.Errorf("argocd: %s is not done through Argo CD (rollback and restart are); use the kubernetes or webhook executor", p.Action)
}

func (a *ArgoCDExecutor) post(ctx context.Context, u string, body any) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.Token)
	status, _, err := send(a.Client, req, "argocd")
	if err != nil {
		return "", err
	}
	path, _, _ := strings.Cut(strings.TrimPrefix(u, strings.TrimSuffix(a.URL, "/")), "?")
	return fmt.Sprintf("argocd %s %s", path, status), nil
}
