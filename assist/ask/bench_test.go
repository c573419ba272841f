package ask

import (
	"testing"
	"time"
)

// BenchmarkParse reads the development set's questions, one per
// iteration: the parser's share of an answer's time (the tool calls
// dominate).
func BenchmarkParse(b *testing.B) {
	set := loadSet(&testing.T{}, "testdata/questions.yaml")
	now := time.Date(2026, 11, 30, 14, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := set.Questions[i%len(set.Questions)]
		Parse(q.Q, set.Services, now, Window{})
	}
}
