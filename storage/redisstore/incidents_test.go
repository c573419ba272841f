package redisstore_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/redisstore"
	"github.com/inquest/inquest/storage/storetest"
)

// TestConformance runs the incident part of the store suite on a real
// Redis, each run under a prefix of its own.
func TestConformance(t *testing.T) {
	addr, _ := storetest.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	storetest.RunIncidents(t, func(t *testing.T) storage.IncidentStore {
		require.NoError(t, c.Ping(t.Context()).Err())
		return redisstore.NewIncidents(c, "test-"+domain.NewID()+":")
	})
}

// TestInvestigationConformance runs the investigation part of the store
// suite on a real Redis.
func TestInvestigationConformance(t *testing.T) {
	addr, _ := storetest.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	storetest.RunInvestigations(t, func(t *testing.T) storage.InvestigationStore {
		require.NoError(t, c.Ping(t.Context()).Err())
		return redisstore.NewInvestigations(c, "test-"+domain.NewID()+":")
	})
}

// TestProposalConformance runs the proposal part of the store suite on a
// real Redis.
func TestProposalConformance(t *testing.T) {
	addr, _ := storetest.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	storetest.RunProposals(t, func(t *testing.T) storage.ProposalStore {
		require.NoError(t, c.Ping(t.Context()).Err())
		return redisstore.NewProposals(c, "test-"+domain.NewID()+":")
	})
}

// TestSettingsConformance runs the settings part of the store suite on a
// real Redis.
func TestSettingsConformance(t *testing.T) {
	addr, _ := storetest.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	storetest.RunSettings(t, func(t *testing.T) storage.SettingStore {
		require.NoError(t, c.Ping(t.Context()).Err())
		return redisstore.NewSettings(c, "test-"+domain.NewID()+":")
	})
}
