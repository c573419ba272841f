package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/storage/storetest"
)

// browser starts a headless Chromium for one test, with the flags this
// closed network needs; extra flags are added to them.
func browser(t *testing.T, bin string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()))
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 6*time.Minute) // a cap: the demo test follows a whole incident
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
	require.NoError(t, s.Store().PutIncident(context.Background(), domain.Incident{Tenant: "default", ID: "inc1",
		Title: "web-ui: p99 latency 1.20 s (expected 12 ms); also api-ui", Severity: "high", Status: domain.IncidentOpen,
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

// TestDashboardAbsoluteRange opens the dashboard on an absolute range given
// in the address, as `inquest import --url` prints it, and sees imported
// 2018 data; the from/to inputs show the range and can change it.
func TestDashboardAbsoluteRange(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t)
	res, _, err := ingest.ImportFile(context.Background(), s.Pipeline(), "default",
		"../ingest/zipkin/testdata/smartthings-mobile-web-install.json", nil)
	require.NoError(t, err)
	require.Equal(t, 953, res.Accepted)

	ctx := browser(t, bin)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.url("/?from=2018-11-30T03:45:24Z&to=2018-11-30T03:50:27Z")),
		chromedp.WaitVisible(chromedp.CSS(`#services tbody tr`)),
		chromedp.WaitVisible(chromedp.CSS(`#from`)),
	))
	from, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#from`)))
	require.NoError(t, err)
	assert.Equal(t, "2018-11-30T03:45:24Z", from)
	services, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#services tbody`)))
	require.NoError(t, err)
	assert.Contains(t, services, "platformapi")

	// A range with nothing in it empties the tables, and says so.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#from`), "2018-11-29T00:00:00Z"),
		chromedp.SetValue(chromedp.CSS(`#to`), "2018-11-29T01:00:00Z"),
		chromedp.Click(chromedp.CSS(`#apply`)),
	))
	require.Eventually(t, func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#services tbody tr")].map(r => r.textContent).join("|")`))
		return err == nil && n == "No services in this range."
	}, 20*time.Second, 50*time.Millisecond, "no services on 2018-11-29")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Contains(t, loc, "from=2018-11-29T00%3A00%3A00Z", "the address keeps the range")
}

// TestGraphiQLOffline opens /graphql in a Chromium that can resolve no host
// but loopback (as on a machine without internet) and waits for GraphiQL's editor
// to render and run a query; every request the page made went to Inquest.
func TestGraphiQLOffline(t *testing.T) {
	bin := storetest.RequireBinary(t, "chromium", "chromium")
	s := start(t)
	ctx := browser(t, bin, chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"))
	var mu sync.Mutex
	var urls []string
	require.NoError(t, chromedp.Do(ctx)) // start the browser before listening to it
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, e.Request.URL)
			mu.Unlock()
		}
	}))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.url("/graphql")),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-container .graphiql-query-editor .CodeMirror`)),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-execute-button`)),
	))
	// The editor works: type a query, run it, read the answer.
	_, err := chromedp.Run(ctx, chromedp.Evaluate[any](
		`document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue("{ services(range: {from: \"now-1h\", to: \"now\"}) { name } }")`))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.graphiql-execute-button`))))
	require.Eventually(t, func() bool {
		out, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.graphiql-response`)))
		return err == nil && strings.Contains(out, `"services"`)
	}, 20*time.Second, 50*time.Millisecond, "GraphiQL shows the answer")
	// The docs come from the standard introspection query, which the
	// default depth limit once refused: open them and find the root types.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.graphiql-sidebar button[aria-label*="Documentation Explorer"]`))))
	require.Eventually(t, func() bool {
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll(".graphiql-doc-explorer-type-name")].map(e => e.textContent).join(" ")`))
		return err == nil && strings.Contains(out, "Query") && strings.Contains(out, "Mutation")
	}, 20*time.Second, 50*time.Millisecond, "GraphiQL's docs show the schema's root types")
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, urls)
	for _, u := range urls {
		if strings.HasPrefix(u, "data:") {
			continue
		}
		assert.True(t, strings.HasPrefix(u, "http://"+s.Addrs().HTTP+"/"), "GraphiQL fetched %s from outside", u)
	}
	if dir := os.Getenv("INQUEST_SCREENSHOTS"); dir != "" {
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "graphiql.png"), shot, 0o644))
	}
}

// screenshot saves the page as name.png in INQUEST_SCREENSHOTS, when set
// (the dashboard's pages are looked at, not only tested).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("INQUEST_SCREENSHOTS")
	if dir == "" {
		return
	}
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644))
}
