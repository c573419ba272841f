package victoriametrics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/inquest/inquest/domain"
)

// quote writes a PromQL string literal. PromQL strings take Go's escapes,
// so strconv.Quote is exact.
func quote(s string) string { return strconv.Quote(s) }

// labelName is what PromQL accepts unquoted in by(...); MetricsQL also
// takes dots, which OpenTelemetry's names use.
var labelName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)

var overTime = map[domain.MetricFunc]string{
	domain.FuncAvg: "avg_over_time", domain.FuncMin: "min_over_time", domain.FuncMax: "max_over_time",
	domain.FuncSum: "sum_over_time", domain.FuncCount: "count_over_time", domain.FuncLast: "last_over_time",
}

// Compile turns the backend-neutral metric query into MetricsQL. The
// tenant is a matcher here and, again, an extra_label on the request.
func Compile(q *domain.MetricQuery) (string, error) {
	var sel strings.Builder
	sel.WriteString("{__name__=" + quote(q.Name) + ", " + TenantLabel + "=" + quote(q.Tenant))
	for _, m := range q.Matchers {
		if !labelName.MatchString(m.Name) || m.Name == TenantLabel {
			return "", fmt.Errorf("label name %q cannot be queried", m.Name)
		}
		if m.Op == domain.MatchRe || m.Op == domain.MatchNotRe {
			if _, err := regexp.Compile(m.Value); err != nil {
				return "", fmt.Errorf("matcher %s: bad regular expression: %w", m.Name, err)
			}
		}
		sel.WriteString(", " + m.Name + string(m.Op) + quote(m.Value))
	}
	sel.WriteString("}")
	window := fmt.Sprintf("[%dms]", q.Step.Milliseconds())
	var expr string
	switch q.Func {
	case domain.FuncIncrease:
		expr = "increase(" + sel.String() + window + ")"
	case domain.FuncRate:
		// increase over the step divided by it, as the embedded store does;
		// VictoriaMetrics' rate divides by the time between the samples.
		expr = fmt.Sprintf("(increase(%s%s) / %g)", sel.String(), window, q.Step.Seconds())
	default:
		expr = overTime[q.Func] + "(" + sel.String() + window + ")"
	}
	if len(q.GroupBy) > 0 || q.Aggregate {
		for _, g := range q.GroupBy {
			if !labelName.MatchString(g) {
				return "", fmt.Errorf("label name %q cannot be grouped by", g)
			}
		}
		expr = fmt.Sprintf("%s by (%s) (%s)", q.Group, strings.Join(q.GroupBy, ", "), expr)
	}
	return expr, nil
}

// MetricSeries runs a metric query. A step's point is labelled with the
// step's start, as in the embedded store: the query is evaluated at the
// step's last millisecond over a window of one step, so a point covers
// [start, start+step), where PromQL's would cover (t-step, t].
func (s *Store) MetricSeries(ctx context.Context, q domain.MetricQuery) ([]domain.MetricSeries, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	expr, err := Compile(&q)
	if err != nil {
		return nil, err
	}
	step := int64(q.Step)
	first := q.Range.Start - q.Range.Start%step
	last := (q.Range.End - 1) - (q.Range.End-1)%step
	shift := step - int64(time.Millisecond)
	out, err := s.queryRange(ctx, q.Tenant, expr, first+shift, last+shift, q.Step)
	if err != nil {
		return nil, fmt.Errorf("metric series: %w", err)
	}
	grouped := len(q.GroupBy) > 0 || q.Aggregate
	for i := range out {
		out[i].Name = q.Name
		if grouped {
			out[i].Type = ""
		}
		for j := range out[i].Points {
			out[i].Points[j].TimeUnixNano -= shift
		}
	}
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// PromQL runs a raw PromQL/MetricsQL expression over the tenant's series
// only. Points carry PromQL's own timestamps (the end of each window).
func (s *Store) PromQL(ctx context.Context, tenant, expr string, r domain.TimeRange, step time.Duration) ([]domain.MetricSeries, error) {
	if tenant == "" {
		return nil, fmt.Errorf("query: %w", domain.ErrNoTenant)
	}
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("empty PromQL expression")
	}
	if r.End <= r.Start {
		return nil, fmt.Errorf("empty time range")
	}
	if step <= 0 {
		step = time.Duration((r.End-r.Start)/250) / time.Second * time.Second
		if step < time.Second {
			step = time.Second
		}
	}
	if n := (r.End - r.Start) / int64(step); n > 11000 {
		return nil, fmt.Errorf("step %s gives %d points over the range; at most 11000", step, n)
	}
	out, err := s.queryRange(ctx, tenant, expr, r.Start, r.End, step)
	if err != nil {
		return nil, fmt.Errorf("promql: %w", err)
	}
	if len(out) > domain.DefaultSeriesLimit {
		out = out[:domain.DefaultSeriesLimit]
	}
	return out, nil
}

type matrix struct {
	Data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func (s *Store) queryRange(ctx context.Context, tenant, expr string, start, end int64, step time.Duration) ([]domain.MetricSeries, error) {
	v := url.Values{}
	v.Set("query", expr)
	v.Set("start", seconds(start))
	v.Set("end", seconds(end))
	v.Set("step", fmt.Sprintf("%dms", step.Milliseconds()))
	v.Set("nocache", "1") // else start and end are aligned to the step
	v.Set("extra_label", TenantLabel+"="+tenant)
	body, err := s.get(ctx, "/api/v1/query_range", v)
	if err != nil {
		return nil, err
	}
	var m matrix
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	if m.Data.ResultType != "matrix" {
		return nil, fmt.Errorf("answer is a %s, not a range of series", m.Data.ResultType)
	}
	out := make([]domain.MetricSeries, 0, len(m.Data.Result))
	for _, r := range m.Data.Result {
		ms := domain.MetricSeries{Name: r.Metric["__name__"], Type: domain.MetricType(r.Metric[TypeLabel])}
		if ms.Type == "" && ms.Name != "" {
			ms.Type = domain.TypeFromName(ms.Name)
		}
		keys := make([]string, 0, len(r.Metric))
		for k := range r.Metric {
			if k != "__name__" && k != TenantLabel && k != TypeLabel {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			ms.Labels.Put(k, r.Metric[k])
		}
		for _, p := range r.Values {
			t, ok1 := p[0].(float64)
			sv, ok2 := p[1].(string)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("decode answer: bad point %v", p)
			}
			val, err := strconv.ParseFloat(sv, 64)
			if err != nil || math.IsNaN(val) || math.IsInf(val, 0) {
				continue
			}
			ms.Points = append(ms.Points, domain.MetricPoint{TimeUnixNano: int64(math.Round(t*1000)) * 1e6, Value: val})
		}
		if len(ms.Points) > 0 {
			out = append(out, ms)
		}
	}
	sort.Slice(out, func(i, j int) bool { return labelString(out[i].Labels) < labelString(out[j].Labels) })
	return out, nil
}

func labelString(a domain.Attrs) string {
	var sb strings.Builder
	for i, k := range a.Keys {
		sb.WriteString(k + "\x00" + a.Values[i] + "\x00")
	}
	return sb.String()
}
