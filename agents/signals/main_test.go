package signals

import (
	"testing"

	"github.com/inquest/inquest/internal/leaktest"
)

// TestMain fails the package if a test leaves a goroutine running.
func TestMain(m *testing.M) { leaktest.Main(m) }
