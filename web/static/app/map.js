// Service map: callers on the left, what they call to the right, one
// column per depth (the longest call chain to a service), ordered within a
// column by where their callers sit, so that 30+ services stay readable;
// services and calls coloured by their error rate.
import { gql } from "./gql.js";
import { h, range, pct, ms, errorBox } from "./ui.js";
import { empty } from "./chart.js";

const Q = `query($r: TimeRangeInput!) { serviceMap(range: $r) { nodes { name requestRate errorRate p99Ms external } edges { source target calls errorRate p99Ms } } }`;
const NS = "http://www.w3.org/2000/svg";
const svgEl = (name, attrs, parent) => { const e = document.createElementNS(NS, name); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); parent && parent.append(e); return e; };
const health = (r) => (r > 0.05 ? "bad" : r > 0.01 ? "warn" : "ok");

export async function serviceMap(_m, view) {
  let m;
  try {
    m = (await gql(Q, { r: range() })).serviceMap;
  } catch (err) {
    view.replaceChildren(h("h2", {}, "Service map"), errorBox(err));
    throw Object.assign(err, { shown: true });
  }
  const box = h("div", { id: "map", class: "map" });
  view.replaceChildren(h("h2", {}, "Service map"), h("p", { class: "hint" }, "Colour: error rate (green under 1 %, amber under 5 %, red above). Width: calls."), box);
  if (!m.nodes.length) { box.append(empty("No services in this range.")); return {}; }
  const names = m.nodes.map((n) => n.name);
  const callers = {}, callees = {};
  for (const e of m.edges) { (callers[e.target] ||= []).push(e.source); (callees[e.source] ||= []).push(e.target); }
  // Depth: the longest chain of callers (cycles cut by a visit limit).
  const depth = {};
  const visit = (n, seen) => {
    if (depth[n] != null) return depth[n];
    if (seen.has(n)) return 0;
    seen.add(n);
    const d = Math.max(0, ...(callers[n] || []).map((c) => visit(c, seen) + 1));
    seen.delete(n);
    return (depth[n] = d);
  };
  names.forEach((n) => visit(n, new Set()));
  const cols = [];
  names.forEach((n) => (cols[depth[n]] ||= []).push(n));
  const pos = {};
  const colW = 210, rowH = 54, W = cols.length * colW + 40;
  const H = Math.max(...cols.map((c) => (c || []).length)) * rowH + 40;
  cols.forEach((col, x) => {
    if (!col) return;
    col.sort((a, b) => bary(a) - bary(b) || a.localeCompare(b));
    col.forEach((n, y) => (pos[n] = { x: 20 + x * colW, y: 20 + y * rowH + ((H - 40) - col.length * rowH) / 2 }));
    function bary(n) { const ps = (callers[n] || []).filter((p) => pos[p]); return ps.length ? ps.reduce((s, p) => s + pos[p].y, 0) / ps.length : 0; }
  });
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, width: W, class: "mapsvg", role: "img", "aria-label": `service map of ${names.length} services` });
  const maxCalls = Math.max(...m.edges.map((e) => e.calls), 1);
  for (const e of m.edges) {
    const a = pos[e.source], b = pos[e.target];
    if (!a || !b) continue;
    const x1 = a.x + 160, y1 = a.y + 17, x2 = b.x, y2 = b.y + 17, mx = (x1 + x2) / 2;
    const p = svgEl("path", { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, class: "edge " + health(e.errorRate),
      "stroke-width": 1 + 4 * Math.sqrt(e.calls / maxCalls), fill: "none" }, svg);
    svgEl("title", {}, p).textContent = `${e.source} → ${e.target}: ${e.calls} calls, ${pct(e.errorRate)} errors, p99 ${ms(e.p99Ms)}`;
  }
  for (const n of m.nodes) {
    const p = pos[n.name];
    const g = svgEl("g", { class: "node " + health(n.errorRate) + (n.external ? " external" : ""), transform: `translate(${p.x},${p.y})` }, svg);
    svgEl("rect", { width: 160, height: 34, rx: 6 }, g);
    svgEl("text", { x: 8, y: 14, class: "name" }, g).textContent = n.name.length > 22 ? n.name.slice(0, 21) + "…" : n.name;
    svgEl("text", { x: 8, y: 28, class: "axis" }, g).textContent = n.external ? "external" : `${(n.requestRate || 0).toFixed(1)}/s · ${pct(n.errorRate)} · ${ms(n.p99Ms)}`;
    svgEl("title", {}, g).textContent = n.name;
  }
  box.append(svg);
  return {};
}
