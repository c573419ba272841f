package domain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FieldKind tells a fixed column from an attribute reference.
type FieldKind int

// Field kinds.
const (
	FieldColumn FieldKind = iota
	FieldAttr
	FieldResource
)

// Field is a parsed attribute reference: a column such as service or
// duration_ms, attr.<key> or res.<key>. Backends map it to an expression; the
// key of an attribute is always bound as a parameter.
type Field struct {
	Kind FieldKind
	Name string // column name, or attribute key
}

// Columns a query may name, and whether each is numeric.
var columns = map[string]bool{
	"service":        false,
	"name":           false,
	"kind":           false,
	"status":         false,
	"severity":       false,
	"body":           false,
	"trace_id":       false,
	"span_id":        false,
	"parent_span_id": false,
	"duration_ms":    true,
	"sample_rate":    true,
}

// ParseField reads "service", "duration_ms", "attr.http.route" or
// "res.host.name".
func ParseField(s string) (Field, error) {
	switch {
	case strings.HasPrefix(s, "attr."):
		if len(s) == len("attr.") {
			return Field{}, fmt.Errorf("field %q: missing attribute key", s)
		}
		return Field{Kind: FieldAttr, Name: s[len("attr."):]}, nil
	case strings.HasPrefix(s, "res."):
		if len(s) == len("res.") {
			return Field{}, fmt.Errorf("field %q: missing resource attribute key", s)
		}
		return Field{Kind: FieldResource, Name: s[len("res."):]}, nil
	}
	if _, ok := columns[s]; ok {
		return Field{Kind: FieldColumn, Name: s}, nil
	}
	return Field{}, fmt.Errorf("unknown field %q: use one of service, name, kind, status, severity, body, trace_id, span_id, parent_span_id, duration_ms, sample_rate, attr.<key>, res.<key>", s)
}

// String is the reference as a user writes it.
func (f Field) String() string {
	switch f.Kind {
	case FieldAttr:
		return "attr." + f.Name
	case FieldResource:
		return "res." + f.Name
	}
	return f.Name
}

// Numeric reports whether the field is a numeric column. Attributes may be
// either; backends read them numerically where an operator needs a number.
func (f Field) Numeric() bool { return f.Kind == FieldColumn && columns[f.Name] }

// Op is a filter operator.
type Op string

// Filter operators.
const (
	OpEq          Op = "="
	OpNe          Op = "!="
	OpGt          Op = ">"
	OpGe          Op = ">="
	OpLt          Op = "<"
	OpLe          Op = "<="
	OpIn          Op = "in"
	OpNotIn       Op = "not-in"
	OpContains    Op = "contains"
	OpNotContains Op = "not-contains"
	OpExists      Op = "exists"
	OpNotExists   Op = "not-exists"
)

// Filter restricts the events a query sees.
type Filter struct {
	Field  Field
	Op     Op
	Value  string
	Values []string // for in / not-in
}

// Number is the filter value as a number, for the comparison operators.
func (f Filter) Number() (float64, error) {
	v, err := strconv.ParseFloat(f.Value, 64)
	if err != nil {
		return 0, fmt.Errorf("filter %s %s %q: value is not a number", f.Field, f.Op, f.Value)
	}
	return v, nil
}

// Validate checks that the operator fits the field and has its value.
func (f Filter) Validate() error {
	switch f.Op {
	case OpEq, OpNe, OpContains, OpNotContains:
	case OpGt, OpGe, OpLt, OpLe:
		if f.Field.Kind == FieldColumn && !f.Field.Numeric() {
			return fmt.Errorf("filter %s %s: operator needs a numeric field (duration_ms, sample_rate or an attribute)", f.Field, f.Op)
		}
		if _, err := f.Number(); err != nil {
			return err
		}
	case OpIn, OpNotIn:
		if len(f.Values) == 0 {
			return fmt.Errorf("filter %s %s: needs at least one value", f.Field, f.Op)
		}
	case OpExists, OpNotExists:
	default:
		return fmt.Errorf("filter %s: unknown operator %q", f.Field, f.Op)
	}
	if f.Field.Numeric() && (f.Op == OpEq || f.Op == OpNe) {
		if _, err := f.Number(); err != nil {
			return err
		}
	}
	return nil
}

// AggOp is an aggregation function.
type AggOp string

// Aggregations. Counts, sums, averages and rates are weighted by sample rate.
const (
	AggCount         AggOp = "count"
	AggSum           AggOp = "sum"
	AggAvg           AggOp = "avg"
	AggMin           AggOp = "min"
	AggMax           AggOp = "max"
	AggP50           AggOp = "p50"
	AggP90           AggOp = "p90"
	AggP95           AggOp = "p95"
	AggP99           AggOp = "p99"
	AggRate          AggOp = "rate"
	AggCountDistinct AggOp = "count_distinct"
)

// Quantile returns the quantile of a percentile aggregation.
func (a AggOp) Quantile() (float64, bool) {
	switch a {
	case AggP50:
		return 0.5, true
	case AggP90:
		return 0.9, true
	case AggP95:
		return 0.95, true
	case AggP99:
		return 0.99, true
	}
	return 0, false
}

// Aggregation is one computed column of an aggregate query.
type Aggregation struct {
	Op    AggOp
	Field *Field // nil for count and rate of events
	Alias string
}

// Name is the alias, or op(field) when none was given.
func (a Aggregation) Name() string {
	if a.Alias != "" {
		return a.Alias
	}
	if a.Field == nil {
		return string(a.Op)
	}
	return fmt.Sprintf("%s(%s)", a.Op, a.Field)
}

// Order sorts results by an aggregation name or a group-by field.
type Order struct {
	By   string
	Desc bool
}

// Having filters groups on an aggregation's value.
type Having struct {
	Aggregation string // its Name
	Op          Op     // a comparison operator
	Value       float64
}

// Query is the backend-neutral aggregate query that GraphQL inputs compile
// into and every backend compiles to its own dialect.
type Query struct {
	Tenant       string
	Range        TimeRange
	Filters      []Filter
	GroupBy      []Field
	Aggregations []Aggregation
	Bucket       time.Duration // 0: one row per group
	Order        []Order
	Limit        int // groups
	Having       []Having
}

// Limits on queries; guardrails against a query that would take the store
// down.
const (
	DefaultGroupLimit = 100
	MaxGroupLimit     = 10000
	MaxBuckets        = 2000
	MaxPageSize       = 1000
)

// Validate checks the query and fills in defaults.
func (q *Query) Validate() error {
	if q.Tenant == "" {
		return fmt.Errorf("query: %w", ErrNoTenant)
	}
	if q.Range.End <= q.Range.Start {
		return fmt.Errorf("empty time range")
	}
	if len(q.Aggregations) == 0 {
		q.Aggregations = []Aggregation{{Op: AggCount}}
	}
	names := map[string]bool{}
	for _, a := range q.Aggregations {
		switch a.Op {
		case AggCount, AggRate:
		case AggSum, AggAvg, AggMin, AggMax, AggP50, AggP90, AggP95, AggP99:
			if a.Field == nil {
				return fmt.Errorf("aggregation %s needs a field", a.Op)
			}
			if a.Field.Kind == FieldColumn && !a.Field.Numeric() {
				return fmt.Errorf("aggregation %s(%s): field is not numeric", a.Op, a.Field)
			}
		case AggCountDistinct:
			if a.Field == nil {
				return fmt.Errorf("aggregation count_distinct needs a field")
			}
		default:
			return fmt.Errorf("unknown aggregation %q", a.Op)
		}
		if names[a.Name()] {
			return fmt.Errorf("aggregation %q appears twice: give one an alias", a.Name())
		}
		names[a.Name()] = true
	}
	for _, f := range q.Filters {
		if err := f.Validate(); err != nil {
			return err
		}
	}
	if q.Bucket < 0 {
		return fmt.Errorf("negative bucket")
	}
	if q.Bucket > 0 {
		if n := (q.Range.End - q.Range.Start) / int64(q.Bucket); n > MaxBuckets {
			return fmt.Errorf("bucket %s gives %d buckets over the range; at most %d", q.Bucket, n, MaxBuckets)
		}
	}
	if q.Limit <= 0 {
		q.Limit = DefaultGroupLimit
	}
	if q.Limit > MaxGroupLimit {
		return fmt.Errorf("limit %d is above the maximum of %d", q.Limit, MaxGroupLimit)
	}
	groups := map[string]bool{}
	for _, g := range q.GroupBy {
		groups[g.String()] = true
	}
	for _, o := range q.Order {
		if !names[o.By] && !groups[o.By] {
			return fmt.Errorf("order by %q: not an aggregation or group-by field of this query", o.By)
		}
	}
	for _, h := range q.Having {
		if !names[h.Aggregation] {
			return fmt.Errorf("having %q: not an aggregation of this query", h.Aggregation)
		}
		switch h.Op {
		case OpEq, OpNe, OpGt, OpGe, OpLt, OpLe:
		default:
			return fmt.Errorf("having %q: operator %q is not a comparison", h.Aggregation, h.Op)
		}
	}
	return nil
}

// AggregateRow is one group (and bucket) of an aggregate result. A nil key
// is a group where the field was absent; a nil value is an aggregation over
// no values.
type AggregateRow struct {
	Bucket int64 // start of the bucket in Unix ns; 0 without buckets
	Keys   []*string
	Values []*float64
}

// AggregateResult is the answer to a Query; rows are ordered by the query's
// order, then by bucket.
type AggregateResult struct {
	GroupBy []string
	Columns []string
	Rows    []AggregateRow
}

// EventQuery selects raw events, newest first, one page at a time.
type EventQuery struct {
	Tenant  string
	Range   TimeRange
	Filters []Filter
	Limit   int
	// After continues from a cursor returned with the previous page.
	After *Cursor
}

// Validate checks the query and fills in the default page size.
func (q *EventQuery) Validate() error {
	if q.Tenant == "" {
		return fmt.Errorf("query: %w", ErrNoTenant)
	}
	for _, f := range q.Filters {
		if err := f.Validate(); err != nil {
			return err
		}
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > MaxPageSize {
		return fmt.Errorf("page size %d is above the maximum of %d", q.Limit, MaxPageSize)
	}
	return nil
}

// Cursor is the position after the last event of a page.
type Cursor struct {
	TimeUnixNano int64
	ID           uint64
}

// EventPage is one page of events and the cursor for the next.
type EventPage struct {
	Events []Event
	Next   *Cursor // nil when there is no more
}

// ServiceSummary holds the RED figures of one service over a range.
type ServiceSummary struct {
	Name       string
	SpanCount  float64 // weighted
	ErrorCount float64 // weighted
	P50Ms      *float64
	P99Ms      *float64
	// FirstNano and LastNano bound the service's records in the range.
	FirstNano, LastNano int64
	// Seconds is the time the tenant's data covers in the range (see
	// SetCoverage): what a rate divides by.
	Seconds float64
}

// SetCoverage sets each summary's Seconds to the part of r that the
// tenant's data covers: from its first record in r (or r's start, if
// earlier data exists) to its last record in r. A rate over a range that
// begins before the data does (a demo a minute old, a day-long range over
// a five-minute import) is then the rate while data flowed, not one diluted
// by empty time. It is at least one second.
func SetCoverage(out []ServiceSummary, r TimeRange) {
	var first, last int64
	for _, s := range out {
		if s.FirstNano > 0 && (first == 0 || s.FirstNano < first) {
			first = s.FirstNano
		}
		last = max(last, s.LastNano)
	}
	first, last = max(first, r.Start), min(last+1, r.End)
	secs := max(float64(last-first)/1e9, 1)
	for i := range out {
		out[i].Seconds = secs
	}
}

// ServiceEdge is a caller → callee edge derived from parent/child spans in
// different services.
type ServiceEdge struct {
	Source string
	Target string
	Calls  float64 // weighted
	Errors float64 // weighted, errors of the callee's spans
	P99Ms  *float64
}

// MatchOp is a label matcher operator as in PromQL.
type MatchOp string

// Label matcher operators.
const (
	MatchEq    MatchOp = "="
	MatchNe    MatchOp = "!="
	MatchRe    MatchOp = "=~"
	MatchNotRe MatchOp = "!~"
)

// LabelMatcher selects series by a label, like a PromQL matcher.
type LabelMatcher struct {
	Name  string
	Op    MatchOp
	Value string
}

// MetricFunc aggregates one series' samples within a step.
type MetricFunc string

// Per-series functions over a step.
const (
	FuncAvg      MetricFunc = "avg"
	FuncMin      MetricFunc = "min"
	FuncMax      MetricFunc = "max"
	FuncSum      MetricFunc = "sum"
	FuncCount    MetricFunc = "count"
	FuncLast     MetricFunc = "last"
	FuncRate     MetricFunc = "rate"     // per second, counter resets handled
	FuncIncrease MetricFunc = "increase" // per step, counter resets handled
)

// GroupFunc combines series of one group, like PromQL's sum by (...).
type GroupFunc string

// Group functions.
const (
	GroupSum GroupFunc = "sum"
	GroupAvg GroupFunc = "avg"
	GroupMin GroupFunc = "min"
	GroupMax GroupFunc = "max"
)

// MetricQuery selects metric samples, applies Func per series and step, and
// optionally combines series by labels: Group(by GroupBy)(Func(name{matchers}[step])).
type MetricQuery struct {
	Tenant   string
	Name     string
	Matchers []LabelMatcher
	Range    TimeRange
	Step     time.Duration
	Func     MetricFunc
	GroupBy  []string
	Group    GroupFunc // used when GroupBy is set (or Aggregate is true)
	// Aggregate combines all series into one even with no GroupBy.
	Aggregate bool
	Limit     int // series
}

// ErrNoTenant is a record or a query that names no tenant. Every store
// refuses one rather than guess: the tenant comes from the caller's
// verified credential, so its absence is a bug above, never a default.
var ErrNoTenant = errors.New("no tenant")

// ErrBadQuery marks an error caused by the query itself (a syntax error in
// raw PromQL, say), whose message is the caller's to see.
var ErrBadQuery = errors.New("bad query")

// MetricPoint is a value at the start of a step.
type MetricPoint struct {
	TimeUnixNano int64
	Value        float64
	// Partial marks a step that began before the range or ends after its
	// end or now: the step filling now is answered, and a chart draws it
	// as unfinished rather than as a fall.
	Partial bool `json:",omitempty"`
}

// MetricSeries is one series of a metric query result.
type MetricSeries struct {
	Name   string
	Labels Attrs
	Type   MetricType
	Points []MetricPoint
}

// DefaultSeriesLimit bounds metric query results.
const DefaultSeriesLimit = 500

// Validate checks the metric query and fills in defaults.
func (q *MetricQuery) Validate() error {
	if q.Tenant == "" {
		return fmt.Errorf("query: %w", ErrNoTenant)
	}
	if q.Name == "" {
		return fmt.Errorf("metric name is required")
	}
	if q.Range.End <= q.Range.Start {
		return fmt.Errorf("empty time range")
	}
	if q.Step <= 0 {
		q.Step = time.Duration((q.Range.End-q.Range.Start)/250) / time.Second * time.Second
		if q.Step < time.Second {
			q.Step = time.Second
		}
	}
	if n := (q.Range.End - q.Range.Start) / int64(q.Step); n > 11000 {
		return fmt.Errorf("step %s gives %d points over the range; at most 11000", q.Step, n)
	}
	switch q.Func {
	case "":
		q.Func = FuncAvg
	case FuncAvg, FuncMin, FuncMax, FuncSum, FuncCount, FuncLast, FuncRate, FuncIncrease:
	default:
		return fmt.Errorf("unknown function %q", q.Func)
	}
	switch q.Group {
	case "":
		q.Group = GroupSum
	case GroupSum, GroupAvg, GroupMin, GroupMax:
	default:
		return fmt.Errorf("unknown group function %q", q.Group)
	}
	for _, m := range q.Matchers {
		switch m.Op {
		case MatchEq, MatchNe, MatchRe, MatchNotRe:
		default:
			return fmt.Errorf("matcher %s: unknown operator %q", m.Name, m.Op)
		}
	}
	if q.Limit <= 0 {
		q.Limit = DefaultSeriesLimit
	}
	return nil
}
