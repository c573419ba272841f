// Package nab replays the Numenta Anomaly Benchmark (or any labelled set
// in its layout) through a detector and scores the alerts it raises the
// ways the field does: the NAB score with its three profiles, the
// point-adjusted F1, an event-wise F-score, time to detect and alerts per
// 1,000 points. Every table carries sanity rows computed by the same code
// (never alert, alert at every point, random alerts at the detector's own
// rate, a rolling 3-sigma rule), so that a score a useless method can win
// shows itself.
//
// What is scored is what pages a person: an alert is the point where an
// anomaly opens, not every point it stays open.
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
)

const timeLayout = "2006-01-02 15:04:05"

// window is a labelled anomaly window, in point indexes of its file.
type window struct{ start, end int }

// Corpus is a labelled set: series by file name ("category/name.csv")
// and their anomaly windows.
type Corpus struct {
	Files  []string
	labels map[string][][2]int64
	dir    string
}

// Load reads the labels of a NAB-layout folder (data/ and
// labels/combined_windows.json inside).
func Load(dir string) (*Corpus, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "labels", "combined_windows.json"))
	if err != nil {
		return nil, fmt.Errorf("nab labels: %w", err)
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("nab labels: %w", err)
	}
	c := &Corpus{labels: map[string][][2]int64{}, dir: dir}
	for file, ws := range labels {
		c.Files = append(c.Files, file)
		for _, w := range ws {
			start, err1 := parseTime(w[0])
			end, err2 := parseTime(w[1])
			if err1 != nil || err2 != nil || end < start {
				return nil, fmt.Errorf("nab labels: %s: bad window %v", file, w)
			}
			c.labels[file] = append(c.labels[file], [2]int64{start, end})
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

// File is one labelled series.
type File struct {
	Name    string
	Times   []int64
	Values  []float64
	windows []window
}

// Category is the folder the file is in.
func (f *File) Category() string { return strings.SplitN(f.Name, "/", 2)[0] }

// Probation is how many leading points are not scored: NAB's 15% of the
// file, at most 750 points.
func (f *File) Probation() int { return min(len(f.Times)*15/100, 750) }

// Read loads one file's points and places its windows on them.
func (c *Corpus) Read(name string) (*File, error) {
	fh, err := os.Open(filepath.Join(c.dir, "data", name))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r := csv.NewReader(fh)
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	f := &File{Name: name}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil || len(rec) != 2 {
			return nil, fmt.Errorf("%s: bad row %v: %v", name, rec, err)
		}
		t, err := parseTime(rec[0])
		if err != nil {
			return nil, fmt.Errorf("%s: bad time %q", name, rec[0])
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil {
			v = math.NaN() // missing data is the detector's business
		}
		f.Times, f.Values = append(f.Times, t), append(f.Values, v)
	}
	for _, l := range c.labels[name] {
		// A window spans the points whose times fall inside its label.
		s := sort.Search(len(f.Times), func(i int) bool { return f.Times[i] >= l[0] })
		e := sort.Search(len(f.Times), func(i int) bool { return f.Times[i] > l[1] }) - 1
		if s <= e {
			f.windows = append(f.windows, window{s, e})
		}
	}
	return f, nil
}

// Alerter is a fresh detector for one series: it sees the points in
// order and says at which it raises an alert.
type Alerter func() func(t int64, v float64) bool

// Alerts runs a detector over a file.
func Alerts(f *File, a Alerter) []bool {
	observe := a()
	out := make([]bool, len(f.Times))
	for i, t := range f.Times {
		out[i] = observe(t, f.Values[i])
	}
	return out
}

// Run scores a detector on every file: the result has one Tally per
// category and "all".
func (c *Corpus) Run(a Alerter) (map[string]*Tally, error) {
	out := map[string]*Tally{"all": {}}
	for _, name := range c.Files {
		f, err := c.Read(name)
		if err != nil {
			return nil, err
		}
		t := Score(f, Alerts(f, a))
		cat := f.Category()
		if out[cat] == nil {
			out[cat] = &Tally{}
		}
		out[cat].Add(t)
		out["all"].Add(t)
	}
	return out, nil
}
