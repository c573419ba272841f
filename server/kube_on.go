//go:build kubernetes

package server

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/inquest/inquest/agents/remediate"
	"github.com/inquest/inquest/agents/remediate/kube"
)

// kubeExecutor builds the Kubernetes executor: in-cluster credentials, or
// the kubeconfig named.
func kubeExecutor(kubeconfig, namespace string) (remediate.Executor, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("remediation-executor kubernetes: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("remediation-executor kubernetes: %w", err)
	}
	return &kube.Executor{Client: client, Namespace: namespace}, nil
}
