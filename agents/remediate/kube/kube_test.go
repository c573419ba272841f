package kube_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/agents/remediate/kube"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage/duckdb"
)

func template(version string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "payment"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "payment", Image: "registry.local/payment:" + version}}}}
}

func replicaSet(rev, version string) *appsv1.ReplicaSet {
	t := true
	tpl := template(version)
	tpl.Labels = map[string]string{"app": "payment", appsv1.DefaultDeploymentUniqueLabelKey: "h" + rev}
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "payment-" + rev, Namespace: "shop", Labels: map[string]string{"app": "payment"},
		Annotations:     map[string]string{"deployment.kubernetes.io/revision": rev},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "payment", Controller: &t}}},
		Spec: appsv1.ReplicaSetSpec{Template: tpl}}
}

// TestApprovedRollbackActsOnce: a rollback approved by a team lead (many
// at once) rolls the deployment back to 2.3.0's pod template, in one
// update of the deployment.
func TestApprovedRollbackActsOnce(t *testing.T) {
	ctx := context.Background()
	replicas := int32(3)
	client := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "payment", Namespace: "shop",
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "3"}},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "payment"}},
				Template: template("2.3.1")}},
		replicaSet("1", "2.2.9"), replicaSet("2", "2.3.0"), replicaSet("3", "2.3.1"))
	store, err := duckdb.Open(ctx, duckdb.Config{}, nil)
	require.NoError(t, err)
	defer store.Close()
	flow := remediate.New(remediate.Config{}, store, &kube.Executor{Client: client, Namespace: "shop"}, store, nil, nil)
	inv := &domain.Investigation{Tenant: "t1", ID: "inv-k", Hypotheses: []domain.Hypothesis{{Service: "payment", Cause: domain.CauseBadDeploy,
		Confidence: 0.9, Change: &domain.ChangeRef{Type: "deploy", Version: "2.3.1", PreviousVersion: "2.3.0"}}}}
	ps, err := flow.Propose(ctx, inv, "inquest")
	require.NoError(t, err)
	require.Equal(t, remediate.ActionRollback, ps[0].Action)
	client.ClearActions()

	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = flow.Approve(ctx, "t1", ps[0].ID, remediate.Actor{Subject: fmt.Sprint("lead-", i), Responder: true, Levels: []string{"team-lead"}}, "", nil)
		}()
	}
	wg.Wait()
	updates := 0
	for _, a := range client.Actions() {
		if a.GetVerb() == "update" && a.GetResource().Resource == "deployments" {
			updates++
		}
	}
	assert.Equal(t, 1, updates, "one update of the deployment")
	d, err := client.AppsV1().Deployments("shop").Get(ctx, "payment", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "registry.local/payment:2.3.0", d.Spec.Template.Spec.Containers[0].Image)
	assert.NotContains(t, d.Spec.Template.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	p, err := store.Proposal(ctx, "t1", ps[0].ID)
	require.NoError(t, err)
	assert.Equal(t, domain.ProposalSucceeded, p.Status, "no verifier: done once executed")
	assert.Contains(t, p.Execution.Output, "rolled back to revision 2 (registry.local/payment:2.3.0)")
}

func TestRestartAndScale(t *testing.T) {
	ctx := context.Background()
	replicas := int32(2)
	client := fake.NewClientset(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "cart", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: template("1.0")}})
	e := &kube.Executor{Client: client, Namespace: "shop"}
	out, err := e.Execute(ctx, domain.Proposal{Action: remediate.ActionRestart, Target: "cart"})
	require.NoError(t, err)
	assert.Contains(t, out, "restarted")
	d, err := client.AppsV1().Deployments("shop").Get(ctx, "cart", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"])
	_, err = e.Execute(ctx, domain.Proposal{Action: remediate.ActionFailover, Target: "cart"})
	assert.ErrorContains(t, err, "not an action it carries out")
	_, err = e.Execute(ctx, domain.Proposal{Action: remediate.ActionRollback, Target: "nope"})
	assert.ErrorContains(t, err, "deployment shop/nope")
}
