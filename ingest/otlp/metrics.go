package otlp

import (
	"fmt"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/inquest/inquest/domain"
)

// What one metrics request may become. A histogram data point is a
// sample per bucket, each with every label of the point: 0.8 MB of
// histograms (100,000 buckets × 100 attributes) became 10 million labels
// and 1.56 GB. The request is counted before it is converted, and one that
// would become more is refused whole (413, naming the limit) rather than
// accepted and stored at any cost.
const (
	// MaxSamplesPerRequest is as many samples as MaxRecordsPerRequest is
	// spans: a Collector's batch is a few thousand.
	MaxSamplesPerRequest = MaxRecordsPerRequest
	// MaxLabelsPerRequest bounds the labels of all samples together
	// (about 64 bytes each once stored: 256 MB at most): 200,000 samples
	// of 20 labels.
	MaxLabelsPerRequest = 4_000_000
)

// MetricsResult is what a metrics request became: its samples, and the
// data points refused one by one (too many labels), with why.
type MetricsResult struct {
	Samples  []domain.Sample
	Rejected []domain.Rejected
	// Labels is the labels of all samples together, as counted before
	// conversion: what a caller adding requests up holds to
	// MaxLabelsPerRequest.
	Labels int
}

// Metrics converts metric points to samples the Prometheus way, promoting
// the default resource attributes (see MetricsWith).
func Metrics(md pmetric.Metrics) (*MetricsResult, error) {
	return MetricsWith(md, promotedAttributes())
}

// MetricsWith converts metric points to samples the Prometheus way:
// histograms become _count, _sum and cumulative _bucket{le} series,
// summaries become quantile series plus _count and _sum. Delta sums are
// kept as gauges of their increments (rate() over them is not
// meaningful). Each series is labelled job (service.name), instance
// (service.instance.id) and the promoted attributes its resource has;
// each resource with other attributes also gets a target_info sample
// holding them. A request that would become more than the per-request
// limits is refused before anything is converted (ErrTooManyRecords); a
// data point with more than domain.MaxSeriesLabels labels is refused on
// its own.
func MetricsWith(md pmetric.Metrics, promote []string) (*MetricsResult, error) {
	samples, labels := count(md, promote)
	if samples > MaxSamplesPerRequest || labels > MaxLabelsPerRequest {
		return nil, fmt.Errorf("%w: the metrics would become %d samples with %d labels in all, more than %d samples or %d labels: send fewer data points or buckets per request",
			ErrTooManyRecords, samples, labels, MaxSamplesPerRequest, MaxLabelsPerRequest)
	}
	res := &MetricsResult{Labels: labels}
	for _, rm := range md.ResourceMetrics().All() {
		c := converter{res: res, job: serviceOf(rm.Resource())}
		attrs := rm.Resource().Attributes()
		if v, ok := attrs.Get("service.instance.id"); ok {
			c.instance = v.AsString()
		}
		c.promoted = promotedOf(attrs, promote)
		first := len(res.Samples)
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				c.metric(m)
			}
		}
		if len(res.Samples) > first {
			c.appendTargetInfo(first, attrs)
		}
	}
	for i := range res.Samples {
		res.Samples[i].SeriesID = res.Samples[i].ComputeSeriesID()
	}
	return res, nil
}

// promotedOf is the promoted attributes a resource has, as key, value
// pairs.
func promotedOf(attrs pcommon.Map, promote []string) []string {
	var out []string
	for _, k := range promote {
		if v, ok := attrs.Get(k); ok && v.AsString() != "" {
			out = append(out, k, v.AsString())
		}
	}
	return out
}

// count is how many samples and labels in all a request will become, read
// from the decoded points without converting them: the check that keeps
// a small request from buying gigabytes.
func count(md pmetric.Metrics, promote []string) (samples, labels int) {
	for _, rm := range md.ResourceMetrics().All() {
		base := 2 + len(promotedOf(rm.Resource().Attributes(), promote))/2 // job, instance
		samples++                                                          // target_info
		labels += base + rm.Resource().Attributes().Len()
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				each := func(n, attrs int) {
					samples += n
					labels += n * (base + attrs + 1)
				}
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					for _, dp := range m.Gauge().DataPoints().All() {
						each(1, dp.Attributes().Len())
					}
				case pmetric.MetricTypeSum:
					for _, dp := range m.Sum().DataPoints().All() {
						each(1, dp.Attributes().Len())
					}
				case pmetric.MetricTypeHistogram:
					for _, dp := range m.Histogram().DataPoints().All() {
						each(2+dp.BucketCounts().Len(), dp.Attributes().Len())
					}
				case pmetric.MetricTypeExponentialHistogram:
					for _, dp := range m.ExponentialHistogram().DataPoints().All() {
						each(2, dp.Attributes().Len())
					}
				case pmetric.MetricTypeSummary:
					for _, dp := range m.Summary().DataPoints().All() {
						each(2+dp.QuantileValues().Len(), dp.Attributes().Len())
					}
				}
			}
		}
	}
	return samples, labels
}

// converter turns the metrics of one resource into samples.
type converter struct {
	res           *MetricsResult
	job, instance string
	promoted      []string
}

// labels is a data point's labels, sorted, later pairs winning (the
// promoted attributes over the point's own); ok is false, and the point
// refused, past domain.MaxSeriesLabels.
func (c *converter) labels(name string, attrs pcommon.Map) (domain.Attrs, bool) {
	var a domain.Attrs
	if c.job != "" {
		a.Append("job", c.job)
	}
	if c.instance != "" {
		a.Append("instance", c.instance)
	}
	for k, v := range attrs.All() {
		a.Append(k, v.AsString())
	}
	for i := 0; i+1 < len(c.promoted); i += 2 {
		a.Append(c.promoted[i], c.promoted[i+1])
	}
	a.SortUnique()
	if len(a.Keys)+1 > domain.MaxSeriesLabels { // +1: le or quantile
		c.res.Rejected = append(c.res.Rejected, domain.Rejected{Raw: []byte(name),
			Reason: fmt.Sprintf("a data point of %q has %d labels, more than the limit of %d", name, len(a.Keys), domain.MaxSeriesLabels)})
		return a, false
	}
	return a, true
}

func (c *converter) add(name string, typ domain.MetricType, ts pcommon.Timestamp, v float64, ls domain.Attrs) {
	c.res.Samples = append(c.res.Samples, domain.Sample{Name: name, Labels: ls, Type: typ, TimeUnixNano: int64(ts), Value: v})
}

// series makes the labels of a point's series that differ only in one
// label (le of buckets, quantile of summaries): the keys are made once
// and shared by every series; each has its own values only.
type series struct {
	keys []string
	base []string // the values, with the varying one empty (or the point's own, replaced)
	at   int      // where the varying value goes
}

func newSeries(base domain.Attrs, key string) series {
	at, found := slices.BinarySearch(base.Keys, key)
	s := series{at: at}
	if found {
		s.keys, s.base = base.Keys, base.Values
		return s
	}
	s.keys = slices.Insert(slices.Clone(base.Keys), at, key)
	s.base = slices.Insert(slices.Clone(base.Values), at, "")
	return s
}

func (s series) with(v string) domain.Attrs {
	vals := slices.Clone(s.base)
	vals[s.at] = v
	return domain.Attrs{Keys: s.keys, Values: vals}
}

func num(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

func (c *converter) metric(m pmetric.Metric) {
	name := m.Name()
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for _, dp := range m.Gauge().DataPoints().All() {
			if ls, ok := c.labels(name, dp.Attributes()); ok {
				c.add(name, domain.MetricGauge, dp.Timestamp(), num(dp), ls)
			}
		}
	case pmetric.MetricTypeSum:
		typ := domain.MetricGauge
		if m.Sum().IsMonotonic() && m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityCumulative {
			typ = domain.MetricCounter
		}
		for _, dp := range m.Sum().DataPoints().All() {
			if ls, ok := c.labels(name, dp.Attributes()); ok {
				c.add(name, typ, dp.Timestamp(), num(dp), ls)
			}
		}
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			c.histogram(name, dp)
		}
	case pmetric.MetricTypeExponentialHistogram:
		for _, dp := range m.ExponentialHistogram().DataPoints().All() {
			if ls, ok := c.labels(name, dp.Attributes()); ok {
				c.add(name+"_count", domain.MetricCounter, dp.Timestamp(), float64(dp.Count()), ls)
				if dp.HasSum() {
					c.add(name+"_sum", domain.MetricCounter, dp.Timestamp(), dp.Sum(), ls)
				}
			}
		}
	case pmetric.MetricTypeSummary:
		for _, dp := range m.Summary().DataPoints().All() {
			ls, ok := c.labels(name, dp.Attributes())
			if !ok {
				continue
			}
			c.add(name+"_count", domain.MetricCounter, dp.Timestamp(), float64(dp.Count()), ls)
			c.add(name+"_sum", domain.MetricCounter, dp.Timestamp(), dp.Sum(), ls)
			q := newSeries(ls, "quantile")
			for _, v := range dp.QuantileValues().All() {
				c.add(name, domain.MetricSummary, dp.Timestamp(), v.Value(), q.with(domain.FormatNumber(v.Quantile())))
			}
		}
	}
}

// histogram adds a point's _count, _sum (sharing its labels) and
// cumulative _bucket{le} samples (sharing their keys).
func (c *converter) histogram(name string, dp pmetric.HistogramDataPoint) {
	ls, ok := c.labels(name, dp.Attributes())
	if !ok {
		return
	}
	c.add(name+"_count", domain.MetricCounter, dp.Timestamp(), float64(dp.Count()), ls)
	if dp.HasSum() {
		c.add(name+"_sum", domain.MetricCounter, dp.Timestamp(), dp.Sum(), ls)
	}
	le := newSeries(ls, "le")
	var cum uint64
	bounds := dp.ExplicitBounds()
	for i, n := range dp.BucketCounts().All() {
		cum += n
		bound := "+Inf"
		if i < bounds.Len() {
			bound = domain.FormatNumber(bounds.At(i))
		}
		c.add(name+"_bucket", domain.MetricCounter, dp.Timestamp(), float64(cum), le.with(bound))
	}
}

// promotedAttributes are the default resource attributes that become labels of
// every series of their resource, as Prometheus' OTLP receiver promotes
// them: without them every pod of a service is one series, and versions
// or nodes cannot be compared. The other resource attributes go on the
// resource's target_info series.
func promotedAttributes() []string {
	return []string{"k8s.pod.name", "k8s.node.name", "k8s.namespace.name", "service.version", "host.name"}
}

// DefaultPromoted is the resource attributes that label metric series
// unless configured otherwise (--metric-resource-attribute).
func DefaultPromoted() []string { return promotedAttributes() }

// targetInfo is the series that carries a resource's attributes, one per
// resource and batch, value 1 (Prometheus' name for it).
const targetInfo = "target_info"

// appendTargetInfo adds a resource's target_info sample, at the newest
// time of its samples, when it has attributes beyond the ones its series
// carry already; past domain.MaxSeriesLabels it is refused, as any series.
func (c *converter) appendTargetInfo(first int, attrs pcommon.Map) {
	samples := c.res.Samples[first:]
	var ls domain.Attrs
	if c.job != "" {
		ls.Append("job", c.job)
	}
	if c.instance != "" {
		ls.Append("instance", c.instance)
	}
	n := 0
	for k, v := range attrs.All() {
		if k == "service.name" || k == "service.instance.id" {
			continue
		}
		ls.Append(k, v.AsString())
		n++
	}
	if n == 0 {
		return
	}
	ls.SortUnique()
	if len(ls.Keys) > domain.MaxSeriesLabels {
		c.res.Rejected = append(c.res.Rejected, domain.Rejected{Raw: []byte(targetInfo),
			Reason: fmt.Sprintf("the target_info of resource %q has %d labels (its attributes), more than the limit of %d", c.job, len(ls.Keys), domain.MaxSeriesLabels)})
		return
	}
	var ts int64
	for _, s := range samples {
		ts = max(ts, s.TimeUnixNano)
	}
	c.res.Samples = append(c.res.Samples, domain.Sample{Name: targetInfo, Labels: ls, Type: domain.MetricGauge, TimeUnixNano: ts, Value: 1})
}
