// Traces: list the traces with a span that matches (by service, duration,
// errors), one row per trace, and open one as a waterfall with its critical
// path and each span's attributes.
import { gql } from "./gql.js";
import { h, table, range, ms, errorBox, when } from "./ui.js";

const SEARCH = `query($r: TimeRangeInput!, $f: [FilterInput!]) { traces(range: $r, filters: $f, limit: 50) {
  traceId startTime durationMs services spanCount errorCount rootService rootName } }`;
const TRACE = `query($id: ID!) { trace(id: $id) { traceId startTime durationMs services spanCount errorCount rootService rootName
  spans { depth offsetMs span { spanId parentSpanId service name durationMs status kind attributes { key value } resource { key value } } } } }`;

export async function traces(stateText, view) {
  let st = { service: "", minMs: "", errors: false };
  try { if (stateText) st = { ...st, ...JSON.parse(stateText) }; } catch { /* defaults */ }
  const form = h("form", { class: "builder", id: "trace-search" },
    h("label", {}, "Service ", h("input", { id: "t-service", value: st.service, size: 16 })),
    h("label", {}, "With a span slower than (ms) ", h("input", { id: "t-min", value: st.minMs, size: 6, inputmode: "numeric" })),
    h("label", {}, h("input", { type: "checkbox", id: "t-errors", checked: st.errors }), " with errors only"),
    h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    location.hash = "traces=" + encodeURIComponent(JSON.stringify({ service: form.querySelector("#t-service").value.trim(),
      minMs: form.querySelector("#t-min").value.trim(), errors: form.querySelector("#t-errors").checked }));
  });
  const out = h("div", { id: "trace-results" });
  view.replaceChildren(h("h2", {}, "Traces"), form, out);
  const f = [];
  if (st.service) f.push({ field: "service", op: "EQ", value: st.service });
  if (st.minMs) f.push({ field: "duration_ms", op: "GE", value: String(st.minMs) });
  if (st.errors) f.push({ field: "status", op: "EQ", value: "error" });
  const search = async () => {
    try {
      const d = await gql(SEARCH, { r: range(), f });
      out.replaceChildren(table("trace-list", ["Started", "Root", "Services", "Spans", "Duration", "Errors", "Trace id"],
        d.traces.map((t) => [when(t.startTime), t.rootService + ": " + t.rootName, t.services.join(", "), t.spanCount, ms(t.durationMs),
          t.errorCount ? h("span", { class: "err" }, String(t.errorCount)) : "0", traceID(t.traceId)]),
        "No trace has a span that matches; widen the range or the search."));
    } catch (err) {
      out.replaceChildren(errorBox(err));
      throw Object.assign(err, { shown: true });
    }
  };
  await search();
  return { refresh: search };
}

// traceID is a trace's full id, linked to its waterfall, with a button
// that copies it.
function traceID(id) {
  const copy = h("button", { type: "button", class: "copy", "aria-label": "copy trace id " + id, title: "copy" }, "⧉");
  copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(id); copy.textContent = "✓"; } catch { copy.textContent = "select it"; }
  });
  return h("span", { class: "traceid" }, h("a", { href: "#trace=" + id }, h("code", {}, id)), " ", copy);
}

export async function trace(id, view) {
  view.replaceChildren(h("h2", {}, "Trace ", h("code", {}, id)), h("p", { class: "empty" }, "Loading…"));
  let t;
  try {
    t = (await gql(TRACE, { id })).trace;
  } catch (err) {
    view.replaceChildren(h("h2", {}, "Trace ", h("code", {}, id)), errorBox(err));
    throw Object.assign(err, { shown: true });
  }
  // The critical path: from each root, the child that ends last.
  const kids = {};
  for (const s of t.spans) (kids[s.span.parentSpanId || ""] ||= []).push(s);
  const critical = new Set();
  let cur = t.spans.find((s) => s.depth === 0);
  while (cur && !critical.has(cur.span.spanId)) {
    critical.add(cur.span.spanId);
    const c = kids[cur.span.spanId] || [];
    cur = c.reduce((a, b) => (!a || b.offsetMs + (b.span.durationMs || 0) > a.offsetMs + (a.span.durationMs || 0) ? b : a), null);
  }
  const detail = h("div", { id: "span-detail", class: "panel" }, h("p", { class: "hint" }, "Choose a span to see its attributes."));
  const rows = t.spans.map((s) => {
    const left = (100 * s.offsetMs) / (t.durationMs || 1), width = Math.max(0.3, (100 * (s.span.durationMs || 0)) / (t.durationMs || 1));
    const row = h("button", { type: "button", class: "wf-row" + (critical.has(s.span.spanId) ? " critical" : "") + (s.span.status === "error" ? " failed" : ""),
      "aria-label": `${s.span.service} ${s.span.name} ${ms(s.span.durationMs)}` },
      h("span", { class: "wf-name", style: `padding-left:${s.depth * 14}px` }, s.span.service + " ", h("b", {}, s.span.name)),
      h("span", { class: "wf-track" }, h("span", { class: "wf-bar", style: `left:${left}%;width:${width}%` })), h("span", { class: "wf-ms" }, ms(s.span.durationMs)));
    row.addEventListener("click", () => {
      detail.replaceChildren(h("h3", {}, s.span.service + " · " + s.span.name),
        table("span-attrs", ["Attribute", "Value"], [["duration", ms(s.span.durationMs)], ["status", s.span.status], ["span id", s.span.spanId],
          ...s.span.attributes.map((a) => [a.key, a.value]), ...s.span.resource.map((a) => ["resource " + a.key, a.value])]));
    });
    return row;
  });
  view.replaceChildren(h("h2", {}, "Trace ", h("code", {}, t.traceId)),
    h("p", { class: "sub" }, `${ms(t.durationMs)} · ${t.spanCount} spans · ${t.services.length} services · ${t.errorCount} errors · started ${when(t.startTime)}`),
    h("p", { class: "hint" }, h("span", { class: "key critical" }, "critical path"), " the spans the trace's duration waited on",
      t.errorCount ? ["; ", h("span", { class: "key failed" }, "failed")] : null),
    h("div", { id: "waterfall", class: "waterfall" }, rows), detail);
  return { live: true }; // a trace does not change: nothing to refresh
}
