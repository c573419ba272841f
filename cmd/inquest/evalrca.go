package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/inquest/inquest/agents/changes"
	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/agents/rca"
	"github.com/inquest/inquest/agents/rca/replay"
	"github.com/inquest/inquest/agents/resources"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/server"
	"github.com/inquest/inquest/storage/duckdb"
)

// The methods of the eval table, Inquest's first.
const (
	methodInquest   = "inquest"
	methodCPU       = "cpu rose most"
	methodLatency   = "latency rose most"
	methodTemplates = "new error templates"
	methodRandom    = "random"
)

var evalMethods = []string{methodInquest, methodCPU, methodLatency, methodTemplates, methodRandom}

func evalRCACmd() *cobra.Command {
	var (
		verbose bool
		only    string
		at      string
		limit   int
		weights string
		tuneOut string
		noCross bool
		strict  bool
	)
	cmd := &cobra.Command{
		Use:   "eval-rca DIR...",
		Short: "Replay root-cause benchmark faults (Nezha layout) through ingest into fresh stores, investigate each, and print AC@1, AC@3 and Avg@5 per system beside naive baselines, and how weights chosen on one system score on the others",
		Long: `Each DIR is one system (a folder of days, or one day, in the Nezha layout).
Every fault is replayed through the server's own ingest into a fresh embedded
store and investigated with no symptom given; the table per system sets
Inquest's ranking beside naive ones. With two systems or more, the scoring
model's weights are chosen on all systems but one and scored on that one, for
each in turn (leave one system out): a method that only wins where it was
tuned is fitted, not good.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			w := rca.DefaultWeights()
			if weights != "" {
				var err error
				if w, err = rca.LoadWeights(weights); err != nil {
					return err
				}
			}
			var systems []evalSystem
			for _, dir := range dirs {
				sys := evalSystem{Name: filepath.Base(filepath.Clean(dir))}
				days, err := replay.Days(dir)
				if err != nil {
					return err
				}
				for _, d := range days {
					fs, err := replay.Faults(d)
					if err != nil {
						return err
					}
					for _, f := range fs {
						if (only == "" || f.Type == only) && (at == "" || f.Raw == at) {
							sys.Faults = append(sys.Faults, f)
						}
					}
				}
				if limit > 0 && len(sys.Faults) > limit {
					sys.Faults = sys.Faults[:limit]
				}
				systems = append(systems, sys)
			}
			return evalRCA(cmd.Context(), cmd.OutOrStdout(), systems, evalOptions{Verbose: verbose, Weights: w, TuneOut: tuneOut, Cross: !noCross, Strict: strict})
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print each fault's ranking and the leading hypothesis")
	cmd.Flags().StringVar(&only, "type", "", "only faults of this type")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many faults per system (0: all)")
	cmd.Flags().StringVar(&at, "fault", "", "only the fault injected at this time (as faults.json has it); with -v, its whole investigation")
	cmd.Flags().StringVar(&weights, "weights", "", "the scoring model's weights, a JSON file (as --tune writes it); defaults are Inquest's own")
	cmd.Flags().StringVar(&tuneOut, "tune", "", "choose the weights on all the systems given and write them to this JSON file")
	cmd.Flags().BoolVar(&noCross, "no-cross", false, "skip the leave-one-system-out line")
	cmd.Flags().BoolVar(&strict, "strict-tune", false, "let a weight move for any gain of AC@1 (by default only for more than one standard error)")
	return cmd
}

// evalSystem is one system's faults.
type evalSystem struct {
	Name   string
	Faults []replay.Fault
}

type evalOptions struct {
	Verbose bool
	Weights rca.Weights
	TuneOut string
	Cross   bool
	// Strict lets tuning move a weight for any gain.
	Strict bool
}

// evalCase is one fault investigated: what the ranking was given, so that
// it can be ranked again under other weights, and the naive rankings.
type evalCase struct {
	Fault   replay.Fault
	Input   rca.Input
	Naive   map[string][]string
	Took    time.Duration
	Skipped replay.Skipped
}

// ranked ranks the case's evidence under w.
func (c *evalCase) ranked(w *rca.Weights) []string {
	in := c.Input
	in.Weights = w
	var out []string
	for _, h := range rca.Rank(in) {
		out = append(out, h.Service)
	}
	return out
}

func evalRCA(ctx context.Context, out io.Writer, systems []evalSystem, opt evalOptions) error {
	bySystem := make([][]evalCase, len(systems))
	for si, sys := range systems {
		var times []time.Duration
		var outcomes []replay.Outcome
		skipped := replay.Skipped{}
		for i, f := range sys.Faults {
			c, err := evalOne(ctx, f, i, &opt.Weights, opt.Verbose && len(sys.Faults) == 1, out)
			if err != nil {
				return fmt.Errorf("%s: fault %s %s: %w", sys.Name, f.Raw, f.Service, err)
			}
			for p, n := range c.Skipped {
				skipped[p] = max(skipped[p], n) // cases share files
			}
			bySystem[si] = append(bySystem[si], c)
			times = append(times, c.Took)
			res := c.outcomes(&opt.Weights)
			outcomes = append(outcomes, res...)
			if opt.Verbose {
				o := res[0]
				fmt.Fprintf(out, "%s %-22s %-15s rank %d  %s  (%s)\n", f.Raw, f.Service, f.Type, o.Rank(), strings.Join(head(o.Ranked, 3), ", "), c.Took.Round(time.Millisecond))
			}
		}
		fmt.Fprintf(out, "\n== %s: %d faults\n", sys.Name, len(sys.Faults))
		replay.Table(out, evalMethods, outcomes)
		printTimes(out, times)
		for _, p := range sortedKeys(skipped) {
			fmt.Fprintf(out, "%s: %d unreadable rows skipped\n", p, skipped[p])
		}
	}
	if opt.TuneOut != "" {
		var all []evalCase
		for _, cs := range bySystem {
			all = append(all, cs...)
		}
		w, trail := tune(opt.Weights, all, opt.Strict)
		for _, line := range trail {
			fmt.Fprintln(out, line)
		}
		b, err := json.MarshalIndent(w, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(opt.TuneOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "weights chosen on %d faults written to %s\n", len(all), opt.TuneOut)
	}
	if opt.Cross && len(systems) > 1 {
		crossSystems(out, systems, bySystem, opt.Weights, opt.Strict)
	}
	return nil
}

func printTimes(out io.Writer, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	var sum time.Duration
	for _, t := range times {
		sum += t
	}
	fmt.Fprintf(out, "investigation time per fault: mean %s, median %s, max %s\n", (sum / time.Duration(len(times))).Round(time.Millisecond),
		times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// outcomes are the case's rankings: Inquest's under w, then the naive ones.
func (c *evalCase) outcomes(w *rca.Weights) []replay.Outcome {
	res := []replay.Outcome{{Fault: c.Fault, Method: methodInquest, Ranked: c.ranked(w)}}
	for _, m := range evalMethods[1:] {
		res = append(res, replay.Outcome{Fault: c.Fault, Method: m, Ranked: c.Naive[m]})
	}
	return res
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

const evalTenant = "eval"

// evalOne replays one fault into a fresh embedded store through the
// server's own ingest, then investigates the three minutes after it
// against the half hour before, with no symptom service given.
func evalOne(ctx context.Context, f replay.Fault, seed int, w *rca.Weights, show bool, out io.Writer) (evalCase, error) {
	c := evalCase{Fault: f}
	dir, err := os.MkdirTemp("", "inquest-eval-rca-")
	if err != nil {
		return c, err
	}
	defer os.RemoveAll(dir)
	files, skipped, err := replay.WriteCase(f, replay.DefaultWindow, dir)
	if err != nil {
		return c, err
	}
	c.Skipped = skipped
	if err := ingestFiles(ctx, filepath.Join(dir, "data"), files); err != nil {
		return c, err
	}
	store, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, "data", "inquest.duckdb")}, nil)
	if err != nil {
		return c, err
	}
	defer store.Close()
	cfg := investigate.DefaultConfig()
	cfg.Weights = w
	runner := investigate.New(cfg, investigate.Deps{Source: store, Store: store,
		Ranked: func(_ *domain.Investigation, in rca.Input) { c.Input = in }}, nil, nil)
	runner.SetClock(func() time.Time { return f.Time.Add(replay.DefaultWindow.After) })
	window := domain.TimeRange{Start: f.Time.UnixNano(), End: f.Time.Add(replay.DefaultWindow.After).UnixNano()}
	inv := runner.New(evalTenant, "eval", domain.InvestigationScope{Range: window})
	began := time.Now()
	runner.Run(ctx, &inv)
	c.Took = time.Since(began)
	if inv.Status != domain.InvestigationDone {
		return c, fmt.Errorf("investigation %s: %s", inv.Status, inv.Error)
	}
	if show {
		printInvestigation(out, &inv)
	}
	if c.Naive, err = baselines(ctx, store, inv.Scope, c.Input.Changes, seed); err != nil {
		return c, err
	}
	return c, nil
}

// ingestFiles imports the case's OTLP JSON lines files through a server
// built as `inquest import` builds it, and stops it (which flushes).
func ingestFiles(ctx context.Context, dataDir string, files []string) error {
	cfg := config.Default()
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr, cfg.Demo, cfg.Detection = "", "", "", false, false
	cfg.DataDir = dataDir
	cfg.IngestWAL = false
	srv, err := server.New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	var importErr error
	for _, file := range files {
		if _, _, err := ingest.ImportFile(ctx, srv.Pipeline(), evalTenant, file, nil); err != nil {
			importErr = err
			break
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return errors.Join(importErr, srv.Shutdown(sctx))
}

// baselines ranks the services naively, from the same store: by how far
// their CPU rose, by how far their latency rose (both as metrics say,
// robust z against the baseline), and at random.
func baselines(ctx context.Context, store *duckdb.Store, sc domain.InvestigationScope, logs *changes.Result, seed int) (map[string][]string, error) {
	res, err := resources.Read(ctx, store, resources.Input{Tenant: evalTenant, Window: sc.Range, Baseline: sc.Baseline})
	if err != nil {
		return nil, err
	}
	byKind := func(kind string) []string {
		var fs []resources.Finding
		for _, f := range res.Findings {
			if f.Kind == kind {
				fs = append(fs, f)
			}
		}
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Z > fs[j].Z })
		var out []string
		for _, f := range fs {
			out = append(out, f.Service)
		}
		return out
	}
	services := map[string]bool{}
	for s := range res.Services {
		services[s] = true
	}
	sums, err := store.Services(ctx, evalTenant, domain.TimeRange{Start: sc.Baseline.Start, End: sc.Range.End})
	if err != nil {
		return nil, err
	}
	for _, s := range sums {
		services[s.Name] = true
	}
	var all []string
	for s := range services {
		all = append(all, s)
	}
	sort.Strings(all)
	r := rand.New(rand.NewPCG(uint64(seed), 42))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return map[string][]string{methodCPU: byKind(resources.CPU), methodLatency: byKind(resources.Latency),
		methodTemplates: newErrorTemplates(logs), methodRandom: all}, nil
}

// newErrorTemplates ranks the services by how many new error templates
// their logs have in the window (then by error lines): the rule an
// engineer grepping for new exceptions would follow.
func newErrorTemplates(logs *changes.Result) []string {
	if logs == nil {
		return nil
	}
	count := map[string]int{}
	for _, t := range logs.Templates {
		if t.New && t.Errors {
			count[t.Service]++
		}
	}
	var out []string
	for s := range count {
		out = append(out, s)
	}
	errs := func(s string) float64 {
		if sl := logs.Services[s]; sl != nil {
			return sl.Errors
		}
		return 0
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if count[a] != count[b] {
			return count[a] > count[b]
		}
		if errs(a) != errs(b) {
			return errs(a) > errs(b)
		}
		return a < b
	})
	return out
}

// printInvestigation writes an investigation's lines and hypotheses.
func printInvestigation(out io.Writer, inv *domain.Investigation) {
	for _, p := range inv.Progress {
		if p.Kind == "step_finished" && p.Text == "" {
			continue
		}
		fmt.Fprintf(out, "  %-13s %-18s %s\n", p.Kind, p.Step, p.Text)
	}
	for i, h := range inv.Hypotheses {
		fmt.Fprintf(out, "  #%d %s %s %.2f\n", i+1, h.Service, h.Cause, h.Confidence)
		for _, e := range h.Evidence {
			fmt.Fprintf(out, "      %.2f %-9s %s\n", e.Strength, e.Kind, e.Text)
		}
	}
}
