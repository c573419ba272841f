// Package victoriametrics stores metric samples in VictoriaMetrics and
// answers metric queries with PromQL/MetricsQL, for deployments that keep
// their metrics there. It implements storage.MetricStore with the same
// answers as the embedded store (the storetest suite checks it) and also
// runs raw PromQL for users who know it.
//
// Samples are written with Prometheus remote write. Every series carries
// the tenant in the inquest_tenant label and its type in __type__ (as
// Prometheus' type-and-unit-labels feature does); every query is
// restricted to the tenant by VictoriaMetrics' extra_label, raw PromQL
// included, and neither label is shown back.
package victoriametrics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/VictoriaMetrics/VictoriaMetrics/lib/prompbmarshal"
	"github.com/klauspost/compress/snappy"

	"github.com/inquest/inquest/domain"
	"github.com/inquest/inquest/storage"
)

const (
	// TenantLabel holds the tenant on every series.
	TenantLabel = "inquest_tenant"
	// TypeLabel holds the series type (counter, gauge, ...).
	TypeLabel = "__type__"
)

// Config configures the VictoriaMetrics metric store.
type Config struct {
	// URL of a single-node server (http://host:8428), or of a cluster's
	// vminsert/vmselect behind one address with the /insert/N/prometheus
	// and /select/N/prometheus prefixes left to a proxy.
	URL string
	// Timeout of each request (default 30 s).
	Timeout time.Duration
	// MaxSamplesPerRequest splits large writes (default 10,000).
	MaxSamplesPerRequest int
}

// Store implements storage.MetricStore on VictoriaMetrics.
type Store struct {
	base    *url.URL
	client  *http.Client
	maxReq  int
	logger  *slog.Logger
	timeout time.Duration
}

var _ storage.MetricStore = (*Store)(nil)

// Open checks that the server answers.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("victoriametrics url %q: want http(s)://host:port", cfg.URL)
	}
	s := &Store{base: u, client: &http.Client{}, maxReq: cfg.MaxSamplesPerRequest, logger: logger, timeout: cfg.Timeout}
	if s.maxReq <= 0 {
		s.maxReq = 10000
	}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.get(ctx, "/health", nil); err != nil {
		return nil, fmt.Errorf("victoriametrics at %s: %w", u.Redacted(), err)
	}
	return s, nil
}

// Close releases idle connections.
func (s *Store) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

func (s *Store) endpoint(path string, q url.Values) string {
	u := *s.base
	u.Path += path
	u.RawQuery = q.Encode()
	return u.String()
}

// do sends a request and returns the body of a 2xx answer; anything else is
// an error carrying the server's message.
func (s *Store) do(req *http.Request) ([]byte, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(body))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		if len(msg) > 500 {
			msg = msg[:500] + "..."
		}
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnprocessableEntity {
			return nil, fmt.Errorf("%w: %s", domain.ErrBadQuery, msg)
		}
		return nil, fmt.Errorf("%s: %s", resp.Status, msg)
	}
	return body, nil
}

func (s *Store) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint(path, q), nil)
	if err != nil {
		return nil, err
	}
	return s.do(req)
}

// WriteSamples sends the samples with remote write, in requests of at most
// MaxSamplesPerRequest samples. Samples of one series in a batch travel as
// one time series.
func (s *Store) WriteSamples(ctx context.Context, samples []domain.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	type key struct {
		tenant string
		id     uint64
	}
	index := map[key]int{}
	var (
		wr prompbmarshal.WriteRequest
		n  int
	)
	for i := range samples {
		m := &samples[i]
		if m.Tenant == "" {
			return fmt.Errorf("write samples: sample: %w", domain.ErrNoTenant)
		}
		id := m.SeriesID
		if id == 0 {
			id = m.ComputeSeriesID()
		}
		k := key{m.Tenant, id}
		j, ok := index[k]
		if !ok {
			j = len(wr.Timeseries)
			index[k] = j
			wr.Timeseries = append(wr.Timeseries, prompbmarshal.TimeSeries{Labels: seriesLabels(m)})
		}
		ts := &wr.Timeseries[j]
		ts.Samples = append(ts.Samples, prompbmarshal.Sample{Value: m.Value, Timestamp: m.TimeUnixNano / 1e6})
		n++
		if n >= s.maxReq {
			if err := s.send(ctx, &wr); err != nil {
				return err
			}
			wr.Timeseries, n = wr.Timeseries[:0], 0
			clear(index)
		}
	}
	if n > 0 {
		return s.send(ctx, &wr)
	}
	return nil
}

func seriesLabels(m *domain.Sample) []prompbmarshal.Label {
	ls := make([]prompbmarshal.Label, 0, len(m.Labels.Keys)+3)
	ls = append(ls, prompbmarshal.Label{Name: "__name__", Value: m.Name})
	for i, k := range m.Labels.Keys {
		if k == TenantLabel || k == TypeLabel || k == "__name__" {
			continue // ours; a sender's own value would let it pick a tenant
		}
		ls = append(ls, prompbmarshal.Label{Name: k, Value: m.Labels.Values[i]})
	}
	ls = append(ls, prompbmarshal.Label{Name: TenantLabel, Value: m.Tenant})
	if m.Type != "" {
		ls = append(ls, prompbmarshal.Label{Name: TypeLabel, Value: string(m.Type)})
	}
	return ls
}

func (s *Store) send(ctx context.Context, wr *prompbmarshal.WriteRequest) error {
	body := snappy.Encode(nil, wr.MarshalProtobuf(nil))
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint("/api/v1/write", nil), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	if _, err := s.do(req); err != nil {
		return fmt.Errorf("write samples: %w", err)
	}
	return nil
}

// Flush makes everything written so far visible to queries (VictoriaMetrics
// buffers new samples for about a second).
func (s *Store) Flush(ctx context.Context) error {
	_, err := s.get(ctx, "/internal/force_flush", nil)
	return err
}

// MetricNames lists the tenant's metric names seen in the range.
func (s *Store) MetricNames(ctx context.Context, tenant string, r domain.TimeRange) ([]string, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	q := url.Values{}
	q.Set("match[]", "{"+TenantLabel+"="+quote(tenant)+"}")
	q.Set("extra_label", TenantLabel+"="+tenant)
	q.Set("start", seconds(r.Start))
	q.Set("end", seconds(r.End))
	body, err := s.get(ctx, "/api/v1/label/__name__/values", q)
	if err != nil {
		return nil, fmt.Errorf("metric names: %w", err)
	}
	var resp struct {
		Data []string `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("metric names: %w", err)
	}
	sort.Strings(resp.Data)
	return resp.Data, nil
}

func seconds(nanos int64) string {
	return fmt.Sprintf("%.3f", float64(nanos)/1e9)
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.get(ctx, "/health", nil)
	return err
}
