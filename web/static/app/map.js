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
  const names = m.nodes.map((n) => n.name);
  const { prefix, suffix, label } = shortNames(names);
  view.replaceChildren(h("h2", {}, "Service map"), h("p", { class: "hint" }, "Colour: error rate (green under 1 %, amber under 5 %, red above). Width: calls.",
    prefix || suffix ? ` Names are shown without what most share: ${[prefix && prefix + "…", suffix && "…" + suffix].filter(Boolean).join(" and ")}.` : ""), box);
  if (!m.nodes.length) { box.append(empty("No services in this range.")); return {}; }
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
  const byDepth = [];
  names.forEach((n) => (byDepth[depth[n]] ||= []).push(n));
  // No empty columns: where every service has a caller (calls that loop
  // back to the entry), the first depth may have none.
  const cols = byDepth.filter(Boolean);
  const pos = {};
  const colW = 210, rowH = 54, W = cols.length * colW + 40;
  const H = Math.max(1, ...cols.map((c) => c.length)) * rowH + 40;
  cols.forEach((col, x) => {
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
    svgEl("text", { x: 8, y: 14, class: "name" }, g).textContent = label(n.name);
    svgEl("text", { x: 8, y: 28, class: "axis" }, g).textContent = n.external ? "external" : `${(n.requestRate || 0).toFixed(1)}/s · ${pct(n.errorRate)} · ${ms(n.p99Ms)}`;
    svgEl("title", {}, g).textContent = n.name;
  }
  box.append(svg);
  // A name longer than its box is cut to fit, measured as drawn; the full
  // name is the node's tooltip.
  for (const t of svg.querySelectorAll(".node text.name")) {
    const full = t.textContent;
    for (let n = full.length; n > 4 && t.getComputedTextLength() > 146; n--) t.textContent = full.slice(0, n - 1) + "…";
  }
  return {};
}

// shortNames finds a prefix and a suffix (cut at a "-", "_" or ".") that
// at least four in five of the names share, such as TrainTicket's "ts-" and
// "-service", and labels each name without them: the part that tells
// services apart is what fits in a box.
function shortNames(names) {
  const share = (test) => names.length >= 5 && names.filter(test).length >= 0.8 * names.length;
  const cut = (s) => /[-_.]$/.test(s);
  let prefix = "", suffix = "";
  const first = names.find((n) => /[-_.]/.test(n)) || "";
  for (let i = first.length - 1; i > 0; i--) {
    const p = first.slice(0, i);
    if (cut(p) && share((n) => n.startsWith(p) && n.length > p.length)) { prefix = p; break; }
  }
  for (let i = 1; i < first.length; i++) {
    const s = first.slice(i);
    if (/^[-_.]/.test(s) && share((n) => n.endsWith(s) && n.length > s.length + prefix.length)) { suffix = s; break; }
  }
  const label = (n) => {
    let out = n;
    if (prefix && out.startsWith(prefix)) out = out.slice(prefix.length);
    if (suffix && out.endsWith(suffix) && out.length > suffix.length) out = out.slice(0, -suffix.length);
    return out;
  };
  return { prefix, suffix, label };
}
