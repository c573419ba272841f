// Package leaktest is every test binary's TestMain: it runs the tests and
// then fails the package if a goroutine one of them started is still
// running — a component whose Shutdown does not wait for what it started,
// a subscription nobody ends. goleak does the looking.
package leaktest

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// ignored are goroutines of libraries that live for the process by design,
// not started by any component of ours.
var ignored = []goleak.Option{
	// database/sql's connection opener lives as long as its *sql.DB; the
	// stores close theirs, but a driver may keep its own for the process.
	goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
	// OpenCensus' stats worker (pulled in by client libraries) starts at
	// init and never ends.
	goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
	// VictoriaMetrics' coarse clock (lib/fasttime, pulled in by prompb)
	// ticks from init for the life of the process.
	goleak.IgnoreTopFunction("github.com/VictoriaMetrics/VictoriaMetrics/lib/fasttime.init.0.func1"),
	// klog's flush daemon (client-go, with -tags kubernetes) likewise.
	goleak.IgnoreTopFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
}

// Main runs the package's tests, then looks for goroutines left behind.
// Idle keep-alive connections of the default HTTP client are closed first:
// they are the transport's, not a leak of the code under test.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		if err := goleak.Find(ignored...); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests:\n%v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
