package remediate_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/domain"
)

// TestArgoCDExecutor: an approved rollback reaches Argo CD as its API
// takes it (POST /api/v1/applications/{name}/sync with the revision and
// the bearer token), its undo syncs back to the version it left, a
// restart is the Deployment's restart action, and an action Argo CD does
// not do is refused by name.
func TestArgoCDExecutor(t *testing.T) {
	type call struct {
		Method, Path, Query, Auth string
		Body                      map[string]any
		Action                    string
	}
	var mu sync.Mutex
	var calls []call
	argo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c := call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization")}
		if json.Unmarshal(b, &c.Body) != nil {
			_ = json.Unmarshal(b, &c.Action)
		}
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		_, _ = w.Write([]byte(`{"metadata": {"name": "shop-payment"}}`))
	}))
	defer argo.Close()
	exec := &remediate.ArgoCDExecutor{URL: argo.URL, Token: "argo-token", AppPrefix: "shop-", Namespace: "prod"}
	ctx := context.Background()
	p := domain.Proposal{ID: "prop-1", Action: remediate.ActionRollback, Target: "payment",
		Params: map[string]string{"version": "2.3.0", "from_version": "2.3.1"}}
	out, err := exec.Execute(ctx, p)
	require.NoError(t, err)
	assert.Contains(t, out, "/api/v1/applications/shop-payment/sync 200")
	_, err = exec.Undo(ctx, p)
	require.NoError(t, err)
	_, err = exec.Execute(ctx, domain.Proposal{ID: "prop-2", Action: remediate.ActionRestart, Target: "payment"})
	require.NoError(t, err)
	_, err = exec.Execute(ctx, domain.Proposal{ID: "prop-3", Action: remediate.ActionScaleOut, Target: "payment"})
	assert.ErrorContains(t, err, "scale_out is not done through Argo CD")

	require.Len(t, calls, 3)
	assert.Equal(t, "/api/v1/applications/shop-payment/sync", calls[0].Path)
	assert.Equal(t, "Bearer argo-token", calls[0].Auth)
	assert.Equal(t, "shop-payment", calls[0].Body["name"])
	assert.Equal(t, "2.3.0", calls[0].Body["revision"])
	assert.Equal(t, false, calls[0].Body["prune"])
	assert.Equal(t, "2.3.1", calls[1].Body["revision"], "the undo syncs back to the version it left")
	assert.Equal(t, "/api/v1/applications/shop-payment/resource/actions", calls[2].Path)
	assert.Equal(t, "group=apps&kind=Deployment&namespace=prod&resourceName=payment&version=v1", calls[2].Query)
	assert.Equal(t, "restart", calls[2].Action)
}
