// The dashboard: one page, a view per route (the address after #), all of
// it a client of the GraphQL API.
import { $, h } from "./ui.js";
import { overview } from "./overview.js";
import { explore } from "./explore.js";
import { traces, trace } from "./traces.js";
import { serviceMap } from "./map.js";
import { incidents, incident } from "./incidents.js";
import { askPage } from "./ask.js";
import { upload } from "./upload.js";
import { pipeline } from "./pipeline.js";
import { settings } from "./settings.js";

const routes = [
  [/^(services|overview)?$/, overview],
  [/^explore(=.*)?$/, (m, v) => explore(arg(m), v)],
  [/^traces(=.*)?$/, (m, v) => traces(arg(m), v)],
  [/^trace=(.+)$/, (m, v) => trace(decodeURIComponent(m[1]), v)],
  [/^map$/, serviceMap],
  [/^incidents$/, incidents],
  [/^incident=(.+)$/, (m, v) => incident(decodeURIComponent(m[1]), "", v)],
  [/^investigation=(.+)$/, (m, v) => incident("", decodeURIComponent(m[1]), v)],
  [/^ask(=.*)?$/, (m, v) => askPage(arg(m), v)],
  [/^upload$/, (m, v) => upload(v)],
  [/^pipeline$/, (m, v) => pipeline(v)],
  [/^settings$/, (m, v) => settings(v)],
];

// arg is a route's argument: what follows "=", decoded.
const arg = (m) => (m[1] ? decodeURIComponent(m[1].slice(1)) : "");

let current = null; // the view's cleanup (subscriptions, timers)

async function render() {
  if (current && current.close) current.close();
  const route = location.hash.replace(/^#\/?/, "");
  const view = $("view");
  for (const [re, page] of routes) {
    const m = route.match(re);
    if (!m) continue;
    const name = route.split("=")[0] || "overview";
    document.querySelectorAll("nav.pages a").forEach((a) => a.setAttribute("aria-current", a.dataset.page === name || (a.dataset.page === "overview" && name === "services") ? "page" : "false"));
    try {
      current = await page(m, view);
    } catch (err) {
      if (!err.shown) view.replaceChildren(h("p", { class: "err", role: "alert" }, "Could not load: " + err.message));
      $("status").textContent = "Could not load: " + err.message;
      return;
    }
    $("status").textContent = "Updated " + new Date().toLocaleTimeString();
    return;
  }
  view.replaceChildren(h("p", { class: "err" }, "No page at #" + route + ". ", h("a", { href: "#" }, "Go to the overview")));
}

function setup() {
  const params = new URLSearchParams(location.search);
  if (params.get("from")) {
    $("range").value = "custom"; $("from").value = params.get("from"); $("to").value = params.get("to") || "now";
  }
  const showCustom = () => { $("custom").hidden = $("range").value !== "custom"; };
  showCustom();
  $("range").addEventListener("change", () => { showCustom(); if ($("range").value !== "custom") render(); });
  $("apply").addEventListener("click", () => {
    const r = { from: $("from").value.trim(), to: $("to").value.trim() || "now" };
    history.replaceState(null, "", "?" + new URLSearchParams(r).toString() + location.hash);
    render();
  });
  const tok = $("token");
  tok.value = localStorage.getItem("inquest-token") || "";
  tok.addEventListener("change", () => { localStorage.setItem("inquest-token", tok.value.trim()); render(); });
  const theme = localStorage.getItem("inquest-theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  document.documentElement.dataset.theme = theme;
  $("theme").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem("inquest-theme", next);
  });
  $("ask-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = $("ask-q").value.trim();
    if (q) location.hash = "ask=" + encodeURIComponent(q);
  });
  window.addEventListener("hashchange", render);
  // Auto-refresh: a page that keeps a form refreshes its results only; a
  // live page (subscriptions) is left alone; the others are drawn again.
  setInterval(() => {
    if (!$("auto").checked) return;
    if (current && current.refresh) current.refresh().catch((err) => { $("status").textContent = "Could not load: " + err.message; });
    else if (!current || !current.live) render();
  }, 10000);
  render();
}

setup();
