// Package nab replays the Numenta Anomaly Benchmark through a detector and
// scores it: a labelled window counts as detected when an anomaly falls
// inside it (recall), and a run of consecutive anomalous points counts as
// one alert, right when it overlaps a window (precision). Detections in a
// file's first 15% (NAB's probationary period) are not counted.
package nab

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inquest/inquest/agents/detection"
)

// Detector is a fresh detector for one series: it sees points in order
// and says which are anomalous.
type Detector func() func(t int64, v float64) bool

// Score counts one category's (or the whole corpus') results.
type Score struct {
	Files, Windows, Detected, Alerts, TrueAlerts int
}

// Precision is the share of alerts that overlap a labelled window.
func (s Score) Precision() float64 { return ratio(s.TrueAlerts, s.Alerts) }

// Recall is the share of windows with an anomaly inside.
func (s Score) Recall() float64 { return ratio(s.Detected, s.Windows) }

// F1 is their harmonic mean.
func (s Score) F1() float64 {
	p, r := s.Precision(), s.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func (s *Score) add(o Score) {
	s.Files += o.Files
	s.Windows += o.Windows
	s.Detected += o.Detected
	s.Alerts += o.Alerts
	s.TrueAlerts += o.TrueAlerts
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

const timeLayout = "2006-01-02 15:04:05"

type window struct{ start, end int64 }

// Corpus is the NAB data: series by file name ("category/name.csv") and
// their labelled windows.
type Corpus struct {
	Files   []string
	windows map[string][]window
	dir     string
}

// Load reads the labels of the NAB folder (data/ and labels/ inside).
func Load(dir string) (*Corpus, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "labels", "combined_windows.json"))
	if err != nil {
		return nil, fmt.Errorf("nab labels: %w", err)
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("nab labels: %w", err)
	}
	c := &Corpus{windows: map[string][]window{}, dir: dir}
	for file, ws := range labels {
		c.Files = append(c.Files, file)
		for _, w := range ws {
			start, err1 := parseTime(w[0])
			end, err2 := parseTime(w[1])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("nab labels: %s: bad window %v", file, w)
			}
			c.windows[file] = append(c.windows[file], window{start, end})
		}
	}
	sort.Strings(c.Files)
	return c, nil
}

func parseTime(s string) (int64, error) {
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return 0, err
	}
	return t.UnixNano(), nil
}

// Series reads one file's points.
func (c *Corpus) Series(file string) (ts []int64, vs []float64, err error) {
	f, err := os.Open(filepath.Join(c.dir, "data", file))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	if _, err := r.Read(); err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", file, err)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil || len(rec) != 2 {
			return nil, nil, fmt.Errorf("%s: bad row %v: %v", file, rec, err)
		}
		t, err := parseTime(rec[0])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: bad time %q", file, rec[0])
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			v = math.NaN() // missing data is the detector's business
		}
		ts, vs = append(ts, t), append(vs, v)
	}
	return ts, vs, nil
}

// MergeGap is how many quiet points end an alert: anomalous points closer
// than that are one alert, as an open incident stays open until its series
// has been back inside the band for a while. Applied to every detector
// alike.
var MergeGap = 12

// Evaluate replays one file.
func (c *Corpus) Evaluate(file string, d Detector) (Score, error) {
	ts, vs, err := c.Series(file)
	if err != nil {
		return Score{}, err
	}
	ws := c.windows[file]
	sc := Score{Files: 1, Windows: len(ws)}
	detected := make([]bool, len(ws))
	probation := len(ts) * 15 / 100
	observe := d()
	inAlert, alertTrue, quiet := false, false, 0
	closeAlert := func() {
		if inAlert {
			sc.Alerts++
			if alertTrue {
				sc.TrueAlerts++
			}
		}
		inAlert, alertTrue = false, false
	}
	for i, t := range ts {
		anomalous := observe(t, vs[i])
		if i < probation {
			continue
		}
		if !anomalous {
			if quiet++; quiet >= MergeGap {
				closeAlert()
			}
			continue
		}
		inAlert, quiet = true, 0
		for j, w := range ws {
			if t >= w.start && t <= w.end {
				detected[j] = true
				alertTrue = true
			}
		}
	}
	closeAlert()
	for _, d := range detected {
		if d {
			sc.Detected++
		}
	}
	return sc, nil
}

// Run scores every file, by category (the folder) and overall ("all").
func (c *Corpus) Run(d Detector) (map[string]*Score, error) {
	out := map[string]*Score{"all": {}}
	for _, f := range c.Files {
		s, err := c.Evaluate(f, d)
		if err != nil {
			return nil, err
		}
		cat := strings.SplitN(f, "/", 2)[0]
		if out[cat] == nil {
			out[cat] = &Score{}
		}
		out[cat].add(s)
		out["all"].add(s)
	}
	return out, nil
}

// ThreeSigma is the plain baseline the detectors must beat: mean ± 3
// standard deviations of the last window points.
func ThreeSigma(window, warmup int) Detector {
	return func() func(int64, float64) bool {
		ring := make([]float64, 0, window)
		next := 0
		return func(_ int64, v float64) bool {
			if math.IsNaN(v) {
				return false
			}
			anomalous := false
			if len(ring) >= warmup {
				var sum, sq float64
				for _, x := range ring {
					sum += x
				}
				mean := sum / float64(len(ring))
				for _, x := range ring {
					sq += (x - mean) * (x - mean)
				}
				std := math.Sqrt(sq / float64(len(ring)))
				anomalous = std > 0 && math.Abs(v-mean) > 3*std
			}
			if len(ring) < window {
				ring = append(ring, v)
			} else {
				ring[next] = v
				next = (next + 1) % window
			}
			return anomalous
		}
	}
}

// Table writes the scores as Markdown, categories sorted, "all" last.
func Table(w io.Writer, name string, scores map[string]*Score) {
	var cats []string
	for c := range scores {
		if c != "all" {
			cats = append(cats, c)
		}
	}
	sort.Strings(cats)
	fmt.Fprintf(w, "| %s | files | windows | detected | alerts | true alerts | precision | recall | F1 |\n|---|---|---|---|---|---|---|---|---|\n", name)
	for _, c := range append(cats, "all") {
		s := scores[c]
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %.3f | %.3f | %.3f |\n", c, s.Files, s.Windows, s.Detected, s.Alerts,
			s.TrueAlerts, s.Precision(), s.Recall(), s.F1())
	}
}

// Detectors is the full univariate detector set with cfg, as every
// watched series runs it.
func Detectors(cfg detection.Config) Detector {
	return func() func(int64, float64) bool {
		s := detection.NewSeries(cfg, nil)
		return func(t int64, v float64) bool { return s.Observe(&cfg, t, v).Anomalous }
	}
}

// Compare runs the detectors with their defaults and the 3-sigma baseline
// over the same window, and writes both tables.
func Compare(w io.Writer, c *Corpus) (full, base map[string]*Score, err error) {
	cfg := detection.DefaultConfig()
	if full, err = c.Run(Detectors(cfg)); err != nil {
		return nil, nil, err
	}
	if base, err = c.Run(ThreeSigma(cfg.Window, cfg.Warmup)); err != nil {
		return nil, nil, err
	}
	Table(w, "detectors (defaults)", full)
	fmt.Fprintln(w)
	Table(w, fmt.Sprintf("3-sigma over %d points", cfg.Window), base)
	return full, base, nil
}
