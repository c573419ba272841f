package storage

import "context"

// SettingStore keeps a tenant's settings that people change at run time
// through the API (the approval policy, runbooks), each one document
// under a key, so that every replica reads the same.
type SettingStore interface {
	// PutSetting stores value under key, replacing what was there.
	PutSetting(ctx context.Context, tenant, key string, value []byte) error
	// Setting returns the value under key, or ErrNotFound.
	Setting(ctx context.Context, tenant, key string) ([]byte, error)
}
