// Explore: the query builder over aggregate (filters, group by, an
// aggregation, a time bucket), drawn as a line chart and a table; the
// address holds the query, so it can be shared. Dragging across the chart
// asks BubbleUp what sets that stretch apart from the time before it.
import { gql } from "./gql.js";
import { h, table, range, errorBox, loading } from "./ui.js";
import { line, bars, fmtNum } from "./chart.js";
import { bucketFor } from "./overview.js";

const OPS = ["COUNT", "RATE", "AVG", "P50", "P90", "P95", "P99", "MAX", "MIN", "SUM", "COUNT_DISTINCT"];
const FOPS = ["EQ", "NE", "GT", "GE", "LT", "LE", "CONTAINS", "NOT_CONTAINS", "EXISTS", "NOT_EXISTS"];
const Q = `query($in: AggregateInput!) { aggregate(input: $in) { groupBy columns bucketSeconds groups { key values series { timeUnixNano values } } } }`;
const BU = `query($in: BubbleUpInput!) { bubbleUp(input: $in) { selection baseline fields { field score values { value selectionShare baselineShare } } } }`;

// The state as the address carries it, and GraphQL's evidence variables
// (an evidence item opens its aggregate here).
function parse(s) {
  const st = { filters: [], groupBy: [], agg: "P99", field: "duration_ms", bucket: "auto" };
  if (!s) return st;
  try {
    const v = JSON.parse(s);
    const input = v.input || v;
    if (input.aggregations) {
      const a = input.aggregations[0] || {};
      st.agg = (a.op || "COUNT").toUpperCase(); st.field = a.field || "";
    }
    Object.assign(st, { filters: (input.filters || []).map((f) => ({ field: f.field, op: (f.op || "EQ").toUpperCase().replace("=", "EQ"), value: f.value ?? "" })),
      groupBy: input.groupBy || input.group_by || [], bucket: input.bucket || v.bucket || "auto" });
    if (input.range) { st.from = input.range.from; st.to = input.range.to; }
    if (v.agg) { st.agg = v.agg; st.field = v.field || ""; }
    if (v.from) st.from = v.from;
    if (v.to) st.to = v.to;
  } catch { /* a hand-edited address: start from the defaults */ }
  return st;
}

export async function explore(stateText, view) {
  const st = parse(stateText);
  const filterRows = h("div", { id: "filters" });
  const addFilter = (f = { field: "service", op: "EQ", value: "" }) => {
    const row = h("div", { class: "filter" },
      h("input", { "aria-label": "filter field", class: "f-field", value: f.field, size: 18 }),
      h("select", { "aria-label": "filter operator", class: "f-op" }, FOPS.map((o) => h("option", { selected: o === f.op }, o))),
      h("input", { "aria-label": "filter value", class: "f-value", value: f.value, size: 18 }),
      h("button", { type: "button", "aria-label": "remove filter", onclick: () => row.remove() }, "×"));
    filterRows.append(row);
  };
  st.filters.forEach(addFilter);
  const form = h("form", { id: "explore-form", class: "builder" },
    h("fieldset", {}, h("legend", {}, "Where"), filterRows, h("button", { type: "button", onclick: () => addFilter() }, "+ filter")),
    h("label", {}, "Group by ", h("input", { id: "groupby", value: st.groupBy.join(", "), size: 24, placeholder: "service, attr.region" })),
    h("label", {}, "Show ", h("select", { id: "agg" }, OPS.map((o) => h("option", { selected: o === st.agg }, o))),
      " of ", h("input", { id: "field", value: st.field, size: 14, placeholder: "duration_ms" })),
    h("label", {}, "Every ", h("select", { id: "bucket" }, ["auto", "none", "10s", "1m", "5m", "1h"].map((b) => h("option", { selected: b === st.bucket }, b)))),
    h("button", { type: "submit", id: "run" }, "Run"));
  const chartBox = h("div", { id: "explore-chart" }), tableBox = h("div", { id: "explore-table" }), buBox = h("div", { id: "bubbleup" });
  view.replaceChildren(h("h2", {}, "Explore"), form, chartBox, buBox, tableBox);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = {
      filters: [...filterRows.querySelectorAll(".filter")].map((r) => ({ field: r.querySelector(".f-field").value.trim(), op: r.querySelector(".f-op").value, value: r.querySelector(".f-value").value }))
        .filter((f) => f.field),
      groupBy: form.querySelector("#groupby").value.split(",").map((s) => s.trim()).filter(Boolean),
      agg: form.querySelector("#agg").value, field: form.querySelector("#field").value.trim(), bucket: form.querySelector("#bucket").value,
    };
    location.hash = "explore=" + encodeURIComponent(JSON.stringify(next));
  });
  await run(st, chartBox, tableBox, buBox);
  return { refresh: () => run(st, chartBox, tableBox, buBox) };
}

async function run(st, chartBox, tableBox, buBox) {
  const r = st.from ? { from: st.from, to: st.to || "now" } : range();
  const filters = st.filters.map((f) => (["EXISTS", "NOT_EXISTS"].includes(f.op) ? { field: f.field, op: f.op } : { field: f.field, op: f.op, value: String(f.value) }));
  const agg = { op: st.agg };
  if (!["COUNT", "RATE"].includes(st.agg)) agg.field = st.field || "duration_ms";
  const input = { range: r, filters, groupBy: st.groupBy, aggregations: [agg], limit: 20 };
  if (st.bucket !== "none") input.bucket = st.bucket === "auto" ? bucketFor(r) : st.bucket;
  chartBox.replaceChildren(loading());
  let d, whole;
  try {
    // The table's figure is the aggregation over the whole range (a p99
    // over the range is not the average of the buckets' p99s): with a
    // bucket, asked for beside the series.
    const { bucket, ...overRange } = input;
    [d, whole] = await Promise.all([gql(Q, { in: input }), bucket ? gql(Q, { in: overRange }) : null]);
  } catch (err) {
    chartBox.replaceChildren(errorBox(err));
    tableBox.replaceChildren();
    throw Object.assign(err, { shown: true });
  }
  const a = d.aggregate, col = a.columns[0];
  const name = (g) => (g.key.length ? g.key.map((k) => k ?? "(none)").join(" / ") : col);
  if (input.bucket) {
    const series = a.groups.map((g) => ({ name: name(g), points: g.series.map((p) => ({ t: Number(p.timeUnixNano) / 1e6, v: p.values[0] })) }));
    line(chartBox, series, { title: col, onBrush: (t0, t1) => bubble(filters, r, t0, t1, buBox) });
    chartBox.append(h("p", { class: "hint" }, "Drag across the chart to ask BubbleUp what sets that stretch apart."));
  } else {
    bars(chartBox, a.groups.map((g) => ({ label: name(g), v: g.values[0] || 0 })), { title: col });
  }
  const totals = whole ? whole.aggregate.groups : a.groups;
  const rows = totals.map((g) => [...g.key.map((k) => k ?? "(none)"), fmtNum(g.values[0])]);
  tableBox.replaceChildren(table("explore-results", [...a.groupBy, col + " over the range"], rows, "No events match."));
}

async function bubble(filters, r, t0, t1, box) {
  const sel = { from: new Date(t0).toISOString(), to: new Date(t1).toISOString() };
  const input = { range: sel, filters, limit: 8, values: 3 };
  const start = /^now-/.test(r.from) ? null : Date.parse(r.from);
  input.baseline = { from: start ? new Date(start).toISOString() : r.from, to: sel.from };
  box.replaceChildren(loading());
  try {
    const d = await gql(BU, { in: input });
    const b = d.bubbleUp;
    const items = b.fields.flatMap((f) => f.values.slice(0, 1).map((v) => ({ label: f.field + " = " + v.value, v: v.selectionShare, v2: v.baselineShare,
      text: (v.selectionShare * 100).toFixed(0) + "% vs " + (v.baselineShare * 100).toFixed(0) + "%" })));
    const chart = h("div", { id: "bubbleup-bars" });
    box.replaceChildren(h("h3", {}, `BubbleUp: ${fmtNum(b.selection)} events from ${new Date(t0).toLocaleTimeString()} to ${new Date(t1).toLocaleTimeString()} against ${fmtNum(b.baseline)} before`),
      h("p", { class: "legend" }, h("span", {}, h("i", { class: "sel" }), "selected"), h("span", {}, h("i", { class: "base" }), "before")), chart);
    bars(chart, items, { empty: "Nothing stands out." });
  } catch (err) {
    box.replaceChildren(errorBox(err));
  }
}

