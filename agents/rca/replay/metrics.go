package replay

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// column maps a per-pod metric column of the layout to an OpenTelemetry
// style metric: its name, a label that tells variants apart, and the
// factor to its unit. Host-wide columns (Node...) are not replayed: they
// do not belong to the pod.
type column struct {
	name, label, value string
	factor             float64
}

var columns = map[string]column{
	"CpuUsage(m)":            {"k8s.pod.cpu.usage", "", "", 1e-3},
	"CpuUsageRate(%)":        {"k8s.pod.cpu.utilization", "", "", 1e-2},
	"MemoryUsage(Mi)":        {"k8s.pod.memory.usage", "", "", 1 << 20},
	"MemoryUsageRate(%)":     {"k8s.pod.memory.utilization", "", "", 1e-2},
	"SyscallRead":            {"k8s.pod.syscalls", "syscall", "read", 1},
	"SyscallWrite":           {"k8s.pod.syscalls", "syscall", "write", 1},
	"NetworkReceiveBytes":    {"k8s.pod.network.io", "direction", "receive", 1},
	"NetworkTransmitBytes":   {"k8s.pod.network.io", "direction", "transmit", 1},
	"PodClientLatencyP90(s)": {"k8s.pod.client.latency", "quantile", "0.9", 1},
	"PodClientLatencyP95(s)": {"k8s.pod.client.latency", "quantile", "0.95", 1},
	"PodClientLatencyP99(s)": {"k8s.pod.client.latency", "quantile", "0.99", 1},
	"PodServerLatencyP90(s)": {"k8s.pod.server.latency", "quantile", "0.9", 1},
	"PodServerLatencyP95(s)": {"k8s.pod.server.latency", "quantile", "0.95", 1},
	"PodServerLatencyP99(s)": {"k8s.pod.server.latency", "quantile", "0.99", 1},
	"PodWorkload(Ops)":       {"k8s.pod.requests.rate", "", "", 1},
	"PodSuccessRate(%)":      {"k8s.pod.success.ratio", "", "", 1e-2},
}

// parseTime reads the layout's Time column ("2022-08-22 03:51:19.607 +0000
// UTC m=+0.11"): the TimeStamp column is not to be trusted.
func parseTime(s string) (time.Time, bool) {
	if i := strings.Index(s, " m="); i > 0 {
		s = s[:i]
	}
	t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s)
	return t, err == nil
}

// writeMetrics writes each pod's minute rows of [from, to] as gauges.
func writeMetrics(f Fault, from, to time.Time, lw *lineWriter, skipped Skipped) error {
	paths, err := filepath.Glob(filepath.Join(f.Day, "metric", "*_metric.csv.gz"))
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, path := range paths {
		md := pmetric.NewMetrics()
		var sm pmetric.ScopeMetrics
		gauges := map[string]pmetric.NumberDataPointSlice{}
		n := 0
		err := readCSV(path, skipped, func(get func(string) string) error {
			t, ok := parseTime(get("Time"))
			if !ok {
				skipped[path]++
				return nil
			}
			if t.Before(from) || t.After(to) {
				return nil
			}
			pod := get("PodName")
			if n == 0 {
				rm := md.ResourceMetrics().AppendEmpty()
				resource(rm.Resource(), pod)
				sm = rm.ScopeMetrics().AppendEmpty()
			}
			for col, c := range columns {
				v, err := strconv.ParseFloat(get(col), 64)
				if err != nil {
					continue
				}
				pts, ok := gauges[c.name]
				if !ok {
					m := sm.Metrics().AppendEmpty()
					m.SetName(c.name)
					pts = m.SetEmptyGauge().DataPoints()
					gauges[c.name] = pts
				}
				p := pts.AppendEmpty()
				p.SetTimestamp(pcommon.Timestamp(t.UnixNano()))
				p.SetDoubleValue(v * c.factor)
				if c.label != "" {
					p.Attributes().PutStr(c.label, c.value)
				}
				n++
			}
			return nil
		})
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return err
		}
		if n == 0 {
			continue
		}
		b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		if err != nil {
			return err
		}
		if err := lw.line(b); err != nil {
			return err
		}
	}
	return nil
}
