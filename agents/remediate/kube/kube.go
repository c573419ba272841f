// Package kube is the Kubernetes executor of approved proposals: a
// rollback is `kubectl rollout undo` (the deployment's pod template goes
// back to its previous revision's, or to the one whose image has the
// version asked for), a restart is `kubectl rollout restart`, a scale-out
// changes the replicas. It is its own package because client-go is heavy;
// it speaks to the cluster through kubernetes.Interface, so tests use
// client-go's fake clientset.
package kube

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/domain"
)

// Executor acts on the deployment named like the proposal's target.
type Executor struct {
	Client    kubernetes.Interface
	Namespace string
}

var _ remediate.Executor = (*Executor)(nil)

// Name is "kubernetes".
func (e *Executor) Name() string { return "kubernetes" }

// DryRun is false.
func (e *Executor) DryRun() bool { return false }

const revision = "deployment.kubernetes.io/revision"

// Execute carries out the proposal's action.
func (e *Executor) Execute(ctx context.Context, p domain.Proposal) (string, error) {
	params := remediate.Params(p)
	switch p.Action {
	case remediate.ActionRollback:
		return e.rollback(ctx, p.Target, params["version"])
	case remediate.ActionRestart:
		return e.restart(ctx, p.Target)
	case remediate.ActionScaleOut:
		return e.scale(ctx, p.Target, params["replicas"])
	}
	return "", fmt.Errorf("kubernetes: %s is not an action it carries out", p.Action)
}

// Undo undoes a rollback by rolling back again (to the revision it left),
// and a scale-out by scaling back; a restart needs no undoing.
func (e *Executor) Undo(ctx context.Context, p domain.Proposal) (string, error) {
	switch p.Action {
	case remediate.ActionRollback:
		return e.rollback(ctx, p.Target, remediate.Params(p)["from_version"])
	case remediate.ActionScaleOut:
		return e.scale(ctx, p.Target, "-"+strings.TrimLeft(remediate.Params(p)["replicas"], "+"))
	}
	return "nothing to undo", nil
}

// rollback puts the pod template of an earlier revision back: the one
// whose images carry version (":"+version), or the previous one.
func (e *Executor) rollback(ctx context.Context, name, version string) (string, error) {
	d, err := e.Client.AppsV1().Deployments(e.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("kubernetes: deployment %s/%s: %w", e.Namespace, name, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return "", fmt.Errorf("kubernetes: deployment %s selector: %w", name, err)
	}
	rss, err := e.Client.AppsV1().ReplicaSets(e.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return "", fmt.Errorf("kubernetes: replica sets of %s: %w", name, err)
	}
	current, _ := strconv.Atoi(d.Annotations[revision])
	var owned []appsv1.ReplicaSet
	for _, rs := range rss.Items {
		for _, o := range rs.OwnerReferences {
			if o.Kind == "Deployment" && o.Name == name {
				owned = append(owned, rs)
			}
		}
	}
	sort.Slice(owned, func(i, j int) bool { return rev(owned[i]) > rev(owned[j]) })
	var target *appsv1.ReplicaSet
	for i := range owned {
		rs := &owned[i]
		if rev(*rs) == current {
			continue
		}
		if version == "" || hasVersion(rs, version) {
			target = rs
			break
		}
	}
	if target == nil {
		return "", fmt.Errorf("kubernetes: deployment %s has no earlier revision with version %q", name, version)
	}
	tpl := target.Spec.Template.DeepCopy()
	delete(tpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	d.Spec.Template = *tpl
	if _, err := e.Client.AppsV1().Deployments(e.Namespace).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		return "", fmt.Errorf("kubernetes: roll back %s: %w", name, err)
	}
	return fmt.Sprintf("deployment %s/%s rolled back to revision %d (%s)", e.Namespace, name, rev(*target), images(tpl.Spec.Containers)), nil
}

func rev(rs appsv1.ReplicaSet) int {
	n, _ := strconv.Atoi(rs.Annotations[revision])
	return n
}

func hasVersion(rs *appsv1.ReplicaSet, version string) bool {
	for _, c := range rs.Spec.Template.Spec.Containers {
		if strings.HasSuffix(c.Image, ":"+version) {
			return true
		}
	}
	return false
}

func images(cs []corev1.Container) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Image)
	}
	return strings.Join(out, ", ")
}

// restart stamps the pod template, as `kubectl rollout restart` does.
func (e *Executor) restart(ctx context.Context, name string) (string, error) {
	d, err := e.Client.AppsV1().Deployments(e.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("kubernetes: deployment %s/%s: %w", e.Namespace, name, err)
	}
	if d.Spec.Template.Annotations == nil {
		d.Spec.Template.Annotations = map[string]string{}
	}
	d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] = time.Now().UTC().Format(time.RFC3339)
	if _, err := e.Client.AppsV1().Deployments(e.Namespace).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		return "", fmt.Errorf("kubernetes: restart %s: %w", name, err)
	}
	return fmt.Sprintf("deployment %s/%s restarted", e.Namespace, name), nil
}

// scale changes the replicas: "+2", "-2", "x2" or a number.
func (e *Executor) scale(ctx context.Context, name, by string) (string, error) {
	s, err := e.Client.AppsV1().Deployments(e.Namespace).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("kubernetes: scale of %s/%s: %w", e.Namespace, name, err)
	}
	was := s.Spec.Replicas
	next := was
	switch {
	case strings.HasPrefix(by, "x"):
		n, err := strconv.Atoi(by[1:])
		if err != nil {
			return "", fmt.Errorf("kubernetes: replicas %q", by)
		}
		next = was * int32(n)
	case strings.HasPrefix(by, "+"), strings.HasPrefix(by, "-"):
		n, err := strconv.Atoi(by)
		if err != nil {
			return "", fmt.Errorf("kubernetes: replicas %q", by)
		}
		next = was + int32(n)
	default:
		n, err := strconv.Atoi(by)
		if err != nil {
			return "", fmt.Errorf("kubernetes: replicas %q", by)
		}
		next = int32(n)
	}
	if next < 1 {
		next = 1
	}
	s.Spec.Replicas = next
	if _, err := e.Client.AppsV1().Deployments(e.Namespace).UpdateScale(ctx, name, s, metav1.UpdateOptions{}); err != nil {
		return "", fmt.Errorf("kubernetes: scale %s: %w", name, err)
	}
	return fmt.Sprintf("deployment %s/%s scaled from %d to %d replicas", e.Namespace, name, was, next), nil
}
