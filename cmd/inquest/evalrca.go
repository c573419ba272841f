package main

import (
	"context"
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

	"github.com/inquest/inquest/agents/investigate"
	"github.com/inquest/inquest/agents/rca/replay"
	"github.com/inquest/inquest/agents/resources"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/server"
	"github.com/inquest/inquest/storage"
	"github.com/inquest/inquest/storage/duckdb"
)

// The methods of the eval table, Inquest's first.
const (
	methodInquest = "inquest"
	methodCPU     = "cpu rose most"
	methodLatency = "latency rose most"
	methodRandom  = "random"
)

func evalRCACmd() *cobra.Command {
	var (
		verbose bool
		only    string
		at      string
		limit   int
	)
	cmd := &cobra.Command{
		Use:   "eval-rca DIR...",
		Short: "Replay root-cause benchmark faults (Nezha layout) through ingest into fresh stores, investigate each, and print AC@1, AC@3 and Avg@5 beside naive baselines",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			var faults []replay.Fault
			for _, dir := range dirs {
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
							faults = append(faults, f)
						}
					}
				}
			}
			if limit > 0 && len(faults) > limit {
				faults = faults[:limit]
			}
			return evalRCA(cmd.Context(), cmd.OutOrStdout(), faults, verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print each fault's ranking and the leading hypothesis")
	cmd.Flags().StringVar(&only, "type", "", "only faults of this type")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many faults (0: all)")
	cmd.Flags().StringVar(&at, "fault", "", "only the fault injected at this time (as faults.json has it); with -v, its whole investigation")
	return cmd
}

func evalRCA(ctx context.Context, out io.Writer, faults []replay.Fault, verbose bool) error {
	var outcomes []replay.Outcome
	var times []time.Duration
	for i, f := range faults {
		res, took, err := evalCase(ctx, f, i, verbose && len(faults) == 1, out)
		if err != nil {
			return fmt.Errorf("fault %s %s: %w", f.Raw, f.Service, err)
		}
		times = append(times, took)
		outcomes = append(outcomes, res...)
		if verbose {
			o := res[0]
			fmt.Fprintf(out, "%s %-22s %-15s rank %d  %s  (%s)\n", f.Raw, f.Service, f.Type, o.Rank(), strings.Join(head(o.Ranked, 3), ", "), took.Round(time.Millisecond))
		}
	}
	fmt.Fprintf(out, "\n%d faults\n", len(faults))
	replay.Table(out, []string{methodInquest, methodCPU, methodLatency, methodRandom}, outcomes)
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	if len(times) > 0 {
		var sum time.Duration
		for _, t := range times {
			sum += t
		}
		fmt.Fprintf(out, "\ninvestigation time per fault: mean %s, median %s, max %s\n", (sum / time.Duration(len(times))).Round(time.Millisecond),
			times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
	}
	return nil
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

const evalTenant = "eval"

// evalCase replays one fault into a fresh embedded store through the
// server's own ingest, then investigates the three minutes after it
// against the half hour before, with no symptom service given.
func evalCase(ctx context.Context, f replay.Fault, seed int, show bool, out io.Writer) ([]replay.Outcome, time.Duration, error) {
	dir, err := os.MkdirTemp("", "inquest-eval-rca-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	files, skipped, err := replay.WriteCase(f, replay.DefaultWindow, dir)
	if err != nil {
		return nil, 0, err
	}
	for path, n := range skipped {
		fmt.Fprintf(out, "  %s: %d unreadable rows skipped\n", path, n)
	}
	if err := ingestFiles(ctx, filepath.Join(dir, "data"), files); err != nil {
		return nil, 0, err
	}
	store, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, "data", "inquest.duckdb")}, nil)
	if err != nil {
		return nil, 0, err
	}
	defer store.Close()
	runner := investigate.New(investigate.DefaultConfig(), investigate.Deps{Source: store, Store: store}, nil, nil)
	runner.SetClock(func() time.Time { return f.Time.Add(replay.DefaultWindow.After) })
	window := storage.TimeRange{Start: f.Time.UnixNano(), End: f.Time.Add(replay.DefaultWindow.After).UnixNano()}
	inv := runner.New(evalTenant, "eval", storage.InvestigationScope{Range: window})
	began := time.Now()
	runner.Run(ctx, &inv)
	took := time.Since(began)
	if inv.Status != storage.InvestigationDone {
		return nil, 0, fmt.Errorf("investigation %s: %s", inv.Status, inv.Error)
	}
	if show {
		printInvestigation(out, &inv)
	}
	var ranked []string
	for _, h := range inv.Hypotheses {
		ranked = append(ranked, h.Service)
	}
	base, err := baselines(ctx, store, inv.Scope, seed)
	if err != nil {
		return nil, 0, err
	}
	res := []replay.Outcome{{Fault: f, Method: methodInquest, Ranked: ranked}}
	for _, m := range []string{methodCPU, methodLatency, methodRandom} {
		res = append(res, replay.Outcome{Fault: f, Method: m, Ranked: base[m]})
	}
	return res, took, nil
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
func baselines(ctx context.Context, store *duckdb.Store, sc storage.InvestigationScope, seed int) (map[string][]string, error) {
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
	sums, err := store.Services(ctx, evalTenant, storage.TimeRange{Start: sc.Baseline.Start, End: sc.Range.End})
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
	return map[string][]string{methodCPU: byKind(resources.CPU), methodLatency: byKind(resources.Latency), methodRandom: all}, nil
}

// printInvestigation writes an investigation's lines and hypotheses.
func printInvestigation(out io.Writer, inv *storage.Investigation) {
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
