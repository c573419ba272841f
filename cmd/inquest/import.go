package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/inquest/inquest/auth"
	"github.com/inquest/inquest/config"
	"github.com/inquest/inquest/ingest"
	"github.com/inquest/inquest/server"
	"github.com/inquest/inquest/storage/duckdb"
)

// importFlags are the server settings that matter to a local import: where
// the data goes and how records are checked and written.
var importFlags = []string{"config", "data-dir", "clickhouse-dsn", "clickhouse-cluster", "clickhouse-replicated",
	"victoriametrics-url", "max-future", "dedup-window", "batch-size", "writers", "duckdb-threads",
	"duckdb-memory-limit", "log-level", "log-format"}

func importCmd() *cobra.Command {
	var url, tenant, token string
	cmd := &cobra.Command{
		Use:   "import FILE...",
		Short: "Load OTLP JSON, Jaeger JSON, Zipkin v2 JSON or JSON/NDJSON event files, keeping their timestamps",
		Long: "Load files through the same pipeline as live ingest and print, per file, the format detected, the records\n" +
			"read, stored, merged, duplicated and rejected (with reasons), and the time range they cover.\n\n" +
			"By default the files go straight into the data directory (stop the server first, DuckDB allows one\n" +
			"writer); with --url they are sent to a running server.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if err := auth.ValidateTenant(tenant); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if token == "" {
				token = os.Getenv("INQUEST_TOKEN")
			}
			if url != "" {
				return uploadFiles(ctx, cmd.OutOrStdout(), url, tenant, token, files)
			}
			return importFiles(ctx, cmd, tenant, files)
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "send to a running server at this base URL (http://127.0.0.1:8080) instead of the data directory")
	cmd.Flags().StringVar(&tenant, "tenant", auth.DefaultTenant, "tenant to import into (with --url and authentication, the token's tenant)")
	cmd.Flags().StringVar(&token, "token", "", "bearer token or API key for --url (default $INQUEST_TOKEN)")
	config.RegisterFlagsOnly(cmd.Flags(), importFlags...)
	return cmd
}

// uploadFiles sends each file to a running server and prints its answer.
func uploadFiles(ctx context.Context, out io.Writer, url, tenant, token string, files []string) error {
	client := &http.Client{Timeout: 5 * time.Minute}
	var failed error
	for _, f := range files {
		answer, err := ingest.UploadFile(ctx, client, url, tenant, token, f)
		var sum ingest.Summary
		if jerr := json.Unmarshal([]byte(answer), &sum); jerr != nil || sum.Read == 0 {
			if err != nil {
				return err
			}
			return fmt.Errorf("%s: the server's answer is not an import summary: %s", f, answer)
		}
		// A file whose every record was refused is answered with a 400
		// that still carries the summary: show it, and fail at the end.
		fmt.Fprint(out, sum.Text(f, "accepted"))
		if sum.From != "" {
			fmt.Fprintf(out, "  dashboard   %s/?%s\n", strings.TrimRight(url, "/"), neturl.Values{"from": {sum.From}, "to": {sum.To}}.Encode())
		}
		failed = errors.Join(failed, err)
	}
	return failed
}

// importFiles loads the files into the configured stores, then prints each
// file's summary once everything accepted has been flushed.
func importFiles(ctx context.Context, cmd *cobra.Command, tenant string, files []string) error {
	cfg, err := config.Load(cmd.Flags())
	if err != nil {
		return err
	}
	cfg.HTTPAddr, cfg.GRPCAddr, cfg.OTLPHTTPAddr, cfg.Demo = "", "", "", false
	srv, err := server.New(ctx, cfg, newLogger(cfg))
	if errors.Is(err, duckdb.ErrLocked) {
		return fmt.Errorf("%w: stop `inquest serve` or pass --url http://127.0.0.1:8080 to import through it", err)
	}
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	var importErr error
	var summaries []ingest.Summary
	for _, f := range files {
		// The bar is made once the total is known: progressbar's
		// unknown-length spinner races with updates.
		var bar *progressbar.ProgressBar
		res, format, err := ingest.ImportFile(ctx, srv.Pipeline(), tenant, f, func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetDescription(f), progressbar.OptionShowCount(),
					progressbar.OptionSetWriter(os.Stderr), progressbar.OptionClearOnFinish())
			}
			_ = bar.Set(done)
		})
		if bar != nil {
			_ = bar.Finish()
		}
		if err != nil {
			importErr = err
			break
		}
		summaries = append(summaries, ingest.NewSummary(format, res))
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	flushErr := srv.Shutdown(sctx)
	verb := "stored"
	if flushErr != nil {
		verb = "accepted"
	}
	for i, s := range summaries {
		fmt.Fprint(cmd.OutOrStdout(), s.Text(files[i], verb))
	}
	return errors.Join(importErr, flushErr)
}
