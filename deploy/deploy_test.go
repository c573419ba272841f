// Package deploy_test checks the example deployment by reading it: Docker
// does not run where the tests do. The configuration files themselves are
// loaded by config's tests.
package deploy_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

type compose struct {
	Services map[string]struct {
		Image       string
		Command     []string
		Ports       []string
		Volumes     []string
		Environment map[string]string
		DependsOn   map[string]map[string]string `yaml:"depends_on"`
	}
	Volumes map[string]any
}

func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.yml")
	require.NoError(t, err)
	var c compose
	require.NoError(t, yaml.Unmarshal(raw, &c), "docker-compose.yml is valid YAML (anchors and merge keys included)")

	for _, svc := range []string{"clickhouse", "redpanda", "victoriametrics", "redis", "gateway-1", "gateway-2", "writer"} {
		require.Contains(t, c.Services, svc)
	}
	published := map[string]string{}
	for name, s := range c.Services {
		require.NotEmpty(t, s.Image, name)
		assert.NotContains(t, s.Image, ":latest", "%s: images are pinned", name)
		assert.Contains(t, s.Image, ":", "%s: images are pinned", name)
		for _, p := range s.Ports {
			host := strings.Split(p, ":")[0]
			assert.NotContains(t, published, host, "%s: host port %s is published once", name, host)
			published[host] = name
		}
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, "./") {
				_, err := os.Stat(src)
				assert.NoError(t, err, "%s mounts %s, which exists", name, src)
			} else {
				assert.Contains(t, c.Volumes, src, "%s: named volume %s is declared", name, src)
			}
		}
		if strings.HasPrefix(name, "gateway") || name == "writer" {
			assert.Equal(t, "serve", s.Command[0], name)
			assert.Contains(t, s.Environment["INQUEST_AUTH_JWT_SECRET"], ":?", "%s: the secret must be given, not defaulted", name)
			for _, dep := range []string{"clickhouse", "redpanda", "victoriametrics", "redis"} {
				assert.Contains(t, s.DependsOn, dep, "%s waits for %s", name, dep)
			}
		}
	}
	gateways := 0
	for name := range c.Services {
		if strings.HasPrefix(name, "gateway") {
			gateways++
		}
	}
	assert.Equal(t, 2, gateways, "two gateways and one writer")
}
