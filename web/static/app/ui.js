// DOM helpers and the state every page shares: the time range.
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

export const $ = (id) => document.getElementById(id);

// table renders rows (arrays of cells: text or nodes) under headers; an
// empty list shows the empty text in one row.
export function table(id, headers, rows, emptyText = "Nothing in this range.") {
  const body = rows.length ? rows.map((r) => h("tr", {}, r.map((c) => h("td", typeof c === "number" ? { class: "num" } : {}, c))))
    : [h("tr", { class: "none" }, h("td", { colspan: headers.length }, emptyText))];
  return h("table", { id }, h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))), h("tbody", {}, body));
}

export function range() {
  if ($("range").value !== "custom") return { from: $("range").value, to: "now" };
  return { from: $("from").value.trim() || "now-15m", to: $("to").value.trim() || "now" };
}

export const ms = (v) => (v == null ? "–" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : v.toFixed(v >= 100 ? 0 : 1) + " ms");
export const pct = (v) => (v == null ? "–" : (v * 100).toFixed(1) + "%");
export const when = (t) => (t ? new Date(t).toLocaleTimeString() : "–");

export function errorBox(err) {
  return h("p", { class: "err", role: "alert" }, "Could not load: " + (err && err.message ? err.message : err));
}

export function loading() { return h("p", { class: "empty" }, "Loading…"); }

// go navigates to a hash route.
export function go(route) { location.hash = route; }
