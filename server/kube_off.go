//go:build !kubernetes

package server

import (
	"errors"

	"github.com/inquest/inquest/agents/remediate"
)

// kubeExecutor is missing from the default build: client-go is heavy, and
// most users never need it.
func kubeExecutor(string, string) (remediate.Executor, error) {
	return nil, errors.New("remediation-executor kubernetes: this binary was built without it: build with `go build -tags kubernetes ./cmd/inquest`")
}
