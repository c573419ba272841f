package config

import (
	"reflect"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOneDeclarationPerSetting: every field of Config is one setting of
// the table, under the name its file key has, and the table names no
// setting twice — so a new field without a declaration, or a flag whose
// name drifted from the file key, fails here.
func TestOneDeclarationPerSetting(t *testing.T) {
	var c Config
	byName := map[string]setting{}
	for _, s := range c.settings() {
		_, dup := byName[s.name]
		require.False(t, dup, "%s is declared twice", s.name)
		byName[s.name] = s
	}
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		key := f.Tag.Get("koanf")
		require.NotEmpty(t, key, "field %s has no koanf key", f.Name)
		s, ok := byName[key]
		require.True(t, ok, "field %s (%s) has no declaration in settings()", f.Name, key)
		// The declaration points at this field: a value put in the field
		// is what the setting reads.
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString("probe-" + key)
		case reflect.Bool:
			fv.SetBool(!fv.Bool())
		case reflect.Int, reflect.Int64:
			fv.SetInt(fv.Int() + 7)
		case reflect.Float64:
			fv.SetFloat(fv.Float() + 0.5)
		case reflect.Slice:
			fv.Set(reflect.ValueOf([]string{"probe-" + key}))
		case reflect.Map:
			fv.Set(reflect.ValueOf(map[string]string{"probe": key}))
		default:
			t.Fatalf("field %s: kind %s has no probe", f.Name, fv.Kind())
		}
		assert.Equal(t, fv.Interface(), s.current(), "setting %s reads field %s", key, f.Name)
		delete(byName, key)
	}
	assert.Empty(t, byName, "declared settings without a field")
}

// TestFlagsCarryTheDeclaredDefaults: a flag's default is the setting's,
// and a secret's flag is hidden.
func TestFlagsCarryTheDeclaredDefaults(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	RegisterFlags(fs)
	d := Default()
	for name, want := range map[string]string{"http-addr": d.HTTPAddr, "retention": d.Retention.String(), "writers": "2",
		"detection": "true", "log-format": "text"} {
		f := fs.Lookup(name)
		require.NotNil(t, f, name)
		assert.Equal(t, want, f.DefValue, name)
	}
	assert.Equal(t, 7*24*time.Hour, d.Retention)
	for _, secret := range []string{"llm-api-key", "remediation-webhook-secret", "slack-bot-token"} {
		assert.True(t, fs.Lookup(secret).Hidden, secret)
	}
}

// TestRulesOfOneSetting: each setting's own rule names it.
func TestRulesOfOneSetting(t *testing.T) {
	c := Default()
	c.Writers, c.KafkaCompression, c.InvestigationSettle = 0, "brotli", -time.Second
	err := c.Validate()
	require.Error(t, err)
	assert.ErrorContains(t, err, "writers must be positive")
	assert.ErrorContains(t, err, `kafka-compression "brotli": want zstd, lz4, snappy, gzip or none`)
	assert.ErrorContains(t, err, "investigation-settle must not be negative")
	require.NoError(t, Default().Validate())
}

// TestSlackUserKeepsItsCommas: the README's --slack-user value, with the
// commas of its roles, is one user, from a flag or from the environment.
func TestSlackUserKeepsItsCommas(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"--slack-user", "U024BE7LH=carol:responder,approver:team-lead", "--slack-user", "U2=dan:viewer"}))
	cfg, err := Load(fs)
	require.NoError(t, err)
	assert.Equal(t, []string{"U024BE7LH=carol:responder,approver:team-lead", "U2=dan:viewer"}, cfg.SlackUsers)

	t.Setenv("INQUEST_SLACK_USER", "U1=carol:responder,approver:team-lead U2=dan:viewer")
	fs = pflag.NewFlagSet("t", pflag.ContinueOnError)
	RegisterFlags(fs)
	require.NoError(t, fs.Parse(nil))
	cfg, err = Load(fs)
	require.NoError(t, err)
	assert.Equal(t, []string{"U1=carol:responder,approver:team-lead", "U2=dan:viewer"}, cfg.SlackUsers)
}
