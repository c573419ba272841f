package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/storetest"
)

// browser starts a headless Chromium for one test, with the flags this
// closed network needs.
func browser(t *testing.T, bin string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	return ctx
}

// TestDashboardInChromium opens the dashboard in a real headless Chromium
// and waits for the services and the service map that the page fetches
// from GraphQL.
func TestDashboardInChromium(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t)
	now := time.Now().Format(time.RFC3339Nano)
	body := `{"timestamp":"` + now + `","service":"web-ui","name":"GET /","trace_id":"t1","span_id":"a","duration_ms":12,"status":"error"}
{"timestamp":"` + now + `","service":"api-ui","name":"GET /x","trace_id":"t1","span_id":"b","parent_span_id":"a","duration_ms":7}`
	code, msg, _ := post(t, s.url("/v1/events"), "application/x-ndjson", []byte(body))
	require.Equal(t, http.StatusOK, code, msg)
	eventually(t, "stored", func() bool { return s.count(t, eq("trace_id", "t1")) == 2 })
	require.NoError(t, s.Store().PutIncident(context.Background(), storage.Incident{Tenant: "default", ID: "inc1",
		Title: "web-ui: p99 latency 1.20 s (expected 12 ms); also api-ui", Severity: "high", Status: storage.IncidentOpen,
		Services: []string{"api-ui", "web-ui"}, OpenedNano: time.Now().UnixNano(), UpdatedNano: time.Now().UnixNano()}))

	ctx := browser(t, bin)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.url("/")),
		chromedp.WaitVisible(chromedp.CSS(`#services tbody tr`)),
		chromedp.WaitVisible(chromedp.CSS(`#edges tbody tr`)),
	))
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return v
	}
	services, edges, status := text(`#services tbody`), text(`#edges tbody`), text(`#status`)
	incidents := text(`#incidents tbody`)
	assert.Contains(t, incidents, "web-ui: p99 latency 1.20 s")
	assert.Contains(t, incidents, "api-ui ← web-ui")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	assert.Contains(t, services, "web-ui")
	assert.Contains(t, services, "api-ui")
	assert.Contains(t, services, "100.0%", "web-ui's one span is an error")
	assert.Contains(t, strings.Join(strings.Fields(edges), " "), "web-ui api-ui 1")
	assert.Contains(t, status, "Updated")
	if dir := os.Getenv("INQUEST_SCREENSHOTS"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dashboard.png"), shot, 0o644))
	}
}

// With authentication on, the page asks for a token and loads once given one.
func TestDashboardWithToken(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t, func(c *config.Config) { c.AuthJWTSecret = jwtSecret })
	tok := token(t, "acme", time.Hour)
	code, msg, _ := post(t, s.url("/v1/events"), "application/json",
		[]byte(`{"service":"acme-ui","name":"GET /","trace_id":"t1","span_id":"a","duration_ms":3}`), "Authorization", "Bearer "+tok)
	require.Equal(t, http.StatusOK, code, msg)

	ctx := browser(t, bin)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.url("/")), chromedp.WaitVisible(chromedp.CSS(`#status`))))
	require.Eventually(t, func() bool {
		st, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#status`)))
		return err == nil && strings.Contains(st, "authentication required")
	}, 20*time.Second, 50*time.Millisecond, "the page says a token is needed")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#token`), tok+"\n"),
		chromedp.WaitVisible(chromedp.CSS(`#services tbody tr`)),
	))
	services, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#services tbody`)))
	require.NoError(t, err)
	assert.Contains(t, services, "acme-ui")
}
