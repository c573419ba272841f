// Overview: the services with their rate, errors and p99 (and how each
// moved), open incidents, and the calls between services.
import { gql } from "./gql.js";
import { h, table, range, pct, when, errorBox } from "./ui.js";
import { sparkline, palette } from "./chart.js";

const Q = `query($r: TimeRangeInput!, $trend: AggregateInput!, $errs: AggregateInput!) {
  incidents(range: $r) { id title severity status services openedAt }
  serviceMap(range: $r) {
    nodes { name spanCount requestRate errorCount errorRate p50Ms p99Ms external }
    edges { source target calls errorRate p99Ms }
  }
  trend: aggregate(input: $trend) { groups { key series { values } } }
  errs: aggregate(input: $errs) { groups { key series { timeUnixNano values } } }
}`;

export async function overview(_m, view) {
  const r = range();
  const trend = { range: r, groupBy: ["service"], bucket: bucketFor(r), aggregations: [{ op: "RATE" }, { op: "P99", field: "duration_ms" }], limit: 200 };
  const errs = { range: r, groupBy: ["service", "status"], bucket: bucketFor(r), aggregations: [{ op: "COUNT" }], limit: 600 };
  let d;
  try {
    d = await gql(Q, { r, trend, errs });
  } catch (err) {
    view.replaceChildren(h("h2", {}, "Overview"), errorBox(err));
    throw Object.assign(err, { shown: true });
  }
  const series = {};
  for (const g of d.trend.groups) {
    series[g.key[0]] = { rate: g.series.map((p) => p.values[0]), p99: g.series.map((p) => p.values[1]) };
  }
  const errBy = {};
  for (const g of d.errs.groups) {
    const [svc, status] = g.key;
    const e = (errBy[svc] ||= {});
    for (const p of g.series) {
      const b = (e[p.timeUnixNano] ||= { all: 0, err: 0 });
      b.all += p.values[0] || 0;
      if (status === "error") b.err += p.values[0] || 0;
    }
  }
  const errTrend = (svc) => Object.keys(errBy[svc] || {}).sort().map((k) => (errBy[svc][k].all ? errBy[svc][k].err / errBy[svc][k].all : 0));
  const incidents = table("incidents", ["Opened", "Severity", "Status", "Incident", "Services (root first, ← called by)"],
    d.incidents.map((i) => [when(i.openedAt), h("span", { class: "sev-" + i.severity }, i.severity), i.status,
      h("a", { href: "#incident=" + encodeURIComponent(i.id) }, i.title), i.services.join(" ← ")]), "No incidents in this range.");
  const m = d.serviceMap;
  const services = table("services", ["Service", "Spans", "Req/s", "Errors", "Error rate", "p50 ms", "p99 ms", "Rate", "Error rate", "p99"],
    m.nodes.map((n) => [
      n.external ? h("span", { class: "ext" }, n.name + " (external)") : h("a", { href: "#explore=" + encodeURIComponent(JSON.stringify({ filters: [{ field: "service", op: "EQ", value: n.name }], groupBy: ["name"], agg: "P99", field: "duration_ms" })) }, n.name),
      n.spanCount, (n.requestRate || 0).toFixed(2), n.errorCount,
      h("span", { class: n.errorRate > 0.05 ? "err" : "" }, pct(n.errorRate)), n.p50Ms == null ? "–" : n.p50Ms.toFixed(1), n.p99Ms == null ? "–" : n.p99Ms.toFixed(1),
      sparkline((series[n.name] || {}).rate || [], { label: n.name + " request rate" }),
      sparkline(errTrend(n.name), { label: n.name + " error rate", color: palette[3] }),
      sparkline((series[n.name] || {}).p99 || [], { label: n.name + " p99", color: palette[1] })]), "No services in this range.");
  const edges = table("edges", ["Caller", "Callee", "Calls", "Error rate", "p99 ms"],
    m.edges.map((e) => [e.source, e.target, e.calls, h("span", { class: e.errorRate > 0.05 ? "err" : "" }, pct(e.errorRate)), e.p99Ms == null ? "–" : e.p99Ms.toFixed(1)]),
    "No calls between services in this range.");
  view.replaceChildren(h("h2", {}, "Incidents"), incidents, h("h2", {}, "Services"), services,
    h("p", { class: "hint" }, "The trends cover the selected range; a service opens in Explore."), h("h2", {}, "Calls between services"), edges);
  return {};
}

// bucketFor picks a bucket that draws a range in about 30 points.
export function bucketFor(r) {
  const m = /^now-(\d+)([smhd])$/.exec(r.from);
  let sec = 3600;
  if (m) sec = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
  else if (!isNaN(Date.parse(r.from))) sec = ((r.to === "now" ? Date.now() : Date.parse(r.to)) - Date.parse(r.from)) / 1000;
  for (const [b, s] of [["10s", 10], ["30s", 30], ["1m", 60], ["2m", 120], ["5m", 300], ["10m", 600], ["30m", 1800], ["1h", 3600], ["3h", 10800], ["6h", 21600], ["1d", 86400]]) {
    if (sec / s <= 40) return b;
  }
  return "1d";
}
