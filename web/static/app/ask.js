// The ask box's page: the question's steps as they happen (askStream), then
// the answer with its chart, its table and the tool calls it made.
import { gql, subscribe } from "./gql.js";
import { h, table, range, errorBox, $ } from "./ui.js";
import { line, bars } from "./chart.js";

const RESULT = `question interpretation understood answer suggestions model conversation
  toolCalls { name arguments result error truncated } table { columns rows } chart { kind title unit series { name points { x y } } }`;

// The conversation follow-ups lean on ("and its p50?"), kept for the
// browser tab; "new conversation" forgets it.
const CONV = "inquest-ask-conversation";
const conversation = () => sessionStorage.getItem(CONV) || null;

export async function askPage(question, view) {
  $("ask-q").value = question;
  const steps = h("ol", { id: "ask-steps", class: "progress", "aria-live": "polite" });
  const out = h("div", { id: "ask-answer" });
  const fresh = h("button", { type: "button", id: "ask-new", class: "linkish", onclick: () => { sessionStorage.removeItem(CONV); fresh.textContent = "a new conversation begins with the next question"; } },
    "new conversation");
  view.replaceChildren(h("h2", {}, "Ask"), question ? h("p", { class: "question" }, "“" + question + "” ", fresh) : h("p", { class: "hint" },
    "Ask in plain words in the box at the top: “p99 latency of checkout by region over the last hour”, “why is checkout slow?”, “what changed in the last 30 minutes?”; then follow up: “and its p50?”, “only in eu-west”."), steps, out);
  if (!question) return { live: true };
  const page = { live: true, close: () => {} };
  await new Promise((resolve) => {
    let answered = false;
    const sub = subscribe(`subscription($q: String!, $r: TimeRangeInput, $c: ID) { askStream(question: $q, range: $r, conversation: $c) { kind text result { ${RESULT} } } }`,
      { q: question, r: range(), c: conversation() }, (d) => {
        const st = d.askStream;
        if (st.kind === "answer") {
          answered = true;
          if (st.result) render(st.result, out); else out.replaceChildren(h("p", { class: "err" }, st.text));
          sub.close();
          resolve();
        } else {
          steps.append(h("li", { class: "line " + st.kind }, h("b", {}, st.kind.replace("_", " ") + " "), st.text.length > 160 ? st.text.slice(0, 159) + "…" : st.text));
        }
      }, async () => {
        if (answered) return;
        answered = true;
        try { render((await gql(`query($q: String!, $r: TimeRangeInput, $c: ID) { ask(question: $q, range: $r, conversation: $c) { ${RESULT} } }`, { q: question, r: range(), c: conversation() })).ask, out); }
        catch (err) { out.replaceChildren(errorBox(err)); }
        resolve();
      });
    page.close = () => sub.close();
  });
  return page;
}

function render(a, out) {
  if (a.conversation) sessionStorage.setItem(CONV, a.conversation);
  const parts = [];
  if (a.interpretation) parts.push(h("p", { class: "hint", id: "ask-interpretation" }, "Read as: " + a.interpretation + (a.model ? " (answered by " + a.model + ")" : "")));
  parts.push(h("p", { class: "answer", id: "ask-text" }, a.answer));
  if (!a.understood && a.suggestions.length) {
    parts.push(h("p", {}, "Try: "), h("ul", { id: "ask-suggestions" }, a.suggestions.map((s) => h("li", {}, h("a", { href: "#ask=" + encodeURIComponent(s) }, s)))));
  }
  const chart = h("div", { id: "ask-chart" });
  if (a.chart && a.chart.series.length) parts.push(chart);
  if (a.table) parts.push(table("ask-table", a.table.columns, a.table.rows.slice(0, 50), "No rows."));
  if (a.toolCalls.length) {
    parts.push(h("details", { id: "ask-calls" }, h("summary", {}, `The ${a.toolCalls.length} tool call(s) behind it`),
      h("ol", {}, a.toolCalls.map((c) => h("li", {}, h("code", {}, c.name + " " + c.arguments), c.error ? h("p", { class: "err" }, c.error) : h("pre", {}, (c.result || "").slice(0, 2000)))))));
  }
  out.replaceChildren(...parts);
  if (a.chart && a.chart.series.length) {
    const c = a.chart;
    const timed = c.series[0].points.length && !isNaN(Date.parse(c.series[0].points[0].x)) && /T/.test(c.series[0].points[0].x);
    if (c.kind === "line" && timed) line(chart, c.series.map((s) => ({ name: s.name, points: s.points.map((p) => ({ t: Date.parse(p.x), v: p.y })) })), { title: c.title });
    else bars(chart, c.series[0].points.map((p) => ({ label: p.x, v: p.y })), { title: c.title });
  }
}
