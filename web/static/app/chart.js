// Small SVG charts: lines over time (with an optional expected band and a
// brush), bars by category, and sparklines. No library: the page must work
// without internet, and these are all it needs.
const NS = "http://www.w3.org/2000/svg";
const el = (name, attrs = {}, parent) => {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.append(e);
  return e;
};
export const palette = ["#3b6fd6", "#d9822b", "#2e9e6b", "#b3261e", "#7b4bc4", "#1f8fa6", "#a6762b", "#c0397b"];

export function fmtNum(v) {
  if (v == null || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

// line draws series [{name, points: [{t (ms), v}]}] with an optional band
// {lower, upper} and calls onBrush(t0, t1) when a region is dragged.
export function line(container, series, opts = {}) {
  const W = opts.width || 720, H = opts.height || 220, L = 52, R = 12, T = 12, B = 26;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.title || "chart" });
  const pts = series.flatMap((s) => s.points.filter((p) => p.v != null));
  if (!pts.length) { container.replaceChildren(empty(opts.empty || "No data in this range.")); return; }
  let t0 = Math.min(...pts.map((p) => p.t)), t1 = Math.max(...pts.map((p) => p.t));
  if (t1 === t0) t1 = t0 + 1;
  let vmax = Math.max(...pts.map((p) => p.v), opts.band ? opts.band.upper : 0);
  if (vmax <= 0) vmax = 1;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R), y = (v) => T + (1 - v / vmax) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = (vmax * i) / 4;
    el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }, svg);
    el("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, svg).textContent = fmtNum(v);
  }
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    // The end labels are anchored inwards, so that neither is clipped.
    el("text", { x: x(t), y: H - 6, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle", class: "axis" }, svg).textContent = new Date(t).toLocaleTimeString([], t1 - t0 < 10 * 60e3 ? { hour: "2-digit", minute: "2-digit", second: "2-digit" } : { hour: "2-digit", minute: "2-digit" });
  }
  if (opts.band) {
    const b = opts.band;
    el("rect", { x: L, width: W - L - R, y: y(b.upper), height: Math.max(1, y(b.lower) - y(b.upper)), class: "band" }, svg);
  }
  if (opts.mark) el("line", { x1: x(opts.mark), x2: x(opts.mark), y1: T, y2: H - B, class: "mark" }, svg);
  series.forEach((s, i) => {
    const d = s.points.filter((p) => p.v != null).map((p, j) => (j ? "L" : "M") + x(p.t).toFixed(1) + "," + y(p.v).toFixed(1)).join("");
    el("path", { d, fill: "none", stroke: s.color || palette[i % palette.length], "stroke-width": 1.8, class: "series" }, svg).append(
      Object.assign(el("title"), { textContent: s.name }));
  });
  if (opts.onBrush) {
    const sel = el("rect", { y: T, height: H - T - B, class: "brush", width: 0 }, svg);
    let start = null;
    const at = (ev) => { const r = svg.getBoundingClientRect(); return ((ev.clientX - r.left) / r.width) * W; };
    svg.addEventListener("pointerdown", (ev) => { start = Math.max(L, at(ev)); sel.setAttribute("x", start); sel.setAttribute("width", 0); });
    svg.addEventListener("pointermove", (ev) => { if (start == null) return; const p = Math.min(W - R, Math.max(L, at(ev))); sel.setAttribute("x", Math.min(start, p)); sel.setAttribute("width", Math.abs(p - start)); });
    svg.addEventListener("pointerup", (ev) => {
      if (start == null) return;
      const p = Math.min(W - R, Math.max(L, at(ev))), a = Math.min(start, p), b = Math.max(start, p);
      start = null;
      if (b - a < 4) return;
      const tt = (px) => t0 + ((px - L) / (W - L - R)) * (t1 - t0);
      opts.onBrush(tt(a), tt(b));
    });
  }
  const wrap = document.createElement("div");
  wrap.className = "chart-wrap";
  wrap.append(svg, legend(series));
  container.replaceChildren(wrap);
}

export function bars(container, items, opts = {}) {
  if (!items.length) { container.replaceChildren(empty(opts.empty || "No data in this range.")); return; }
  const W = opts.width || 720, row = 22, L = 220, H = items.length * row + 8;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.title || "bars" });
  const vmax = Math.max(...items.map((i) => Math.max(i.v, i.v2 || 0)), 1e-9);
  items.forEach((it, i) => {
    const y = 4 + i * row;
    el("text", { x: L - 8, y: y + 14, "text-anchor": "end", class: "axis" }, svg).textContent = it.label.length > 34 ? it.label.slice(0, 33) + "…" : it.label;
    const w = ((W - L - 70) * it.v) / vmax;
    el("rect", { x: L, y: y + (it.v2 != null ? 2 : 3), width: Math.max(1, w), height: it.v2 != null ? 8 : 14, fill: palette[0] }, svg);
    if (it.v2 != null) el("rect", { x: L, y: y + 11, width: Math.max(1, ((W - L - 70) * it.v2) / vmax), height: 8, fill: palette[1] }, svg);
    el("text", { x: L + w + 6, y: y + 14, class: "axis" }, svg).textContent = it.text || fmtNum(it.v);
  });
  container.replaceChildren(svg);
}

export function sparkline(values, opts = {}) {
  const W = opts.width || 110, H = opts.height || 26;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "spark", width: W, height: H, role: "img", "aria-label": opts.label || "trend" });
  const vs = values.filter((v) => v != null);
  if (vs.length < 2) return svg;
  const max = Math.max(...vs, 1e-9);
  const d = values.map((v, i) => (i ? "L" : "M") + ((i / (values.length - 1)) * (W - 2) + 1).toFixed(1) + "," + (H - 2 - ((v || 0) / max) * (H - 4)).toFixed(1)).join("");
  el("path", { d, fill: "none", stroke: opts.color || palette[0], "stroke-width": 1.5 }, svg);
  return svg;
}

function legend(series) {
  const d = document.createElement("div");
  d.className = "legend";
  series.slice(0, 12).forEach((s, i) => {
    const span = document.createElement("span");
    span.innerHTML = `<i style="background:${s.color || palette[i % palette.length]}"></i>`;
    span.append(s.name);
    d.append(span);
  });
  return d;
}

export function empty(text) {
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = text;
  return p;
}
