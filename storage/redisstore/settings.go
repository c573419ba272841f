package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/inquest/inquest/storage"
)

// Settings is a storage.SettingStore on Redis: one hash per tenant, so
// that a policy set through one gateway is the one every replica applies.
type Settings struct {
	c      *redis.Client
	prefix string
}

var _ storage.SettingStore = (*Settings)(nil)

// NewSettings keeps settings under prefix (such as "inquest:").
func NewSettings(c *redis.Client, prefix string) *Settings {
	return &Settings{c: c, prefix: prefix + "settings:"}
}

// PutSetting stores value under the tenant's key.
func (s *Settings) PutSetting(ctx context.Context, tenant, key string, value []byte) error {
	if err := s.c.HSet(ctx, s.prefix+tenant, key, value).Err(); err != nil {
		return fmt.Errorf("put setting %s: %w", key, err)
	}
	return nil
}

// Setting reads the tenant's key or storage.ErrNotFound.
func (s *Settings) Setting(ctx context.Context, tenant, key string) ([]byte, error) {
	b, err := s.c.HGet(ctx, s.prefix+tenant, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("setting %s: %w", key, err)
	}
	return b, nil
}
