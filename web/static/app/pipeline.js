// The pipeline page: the ingest path of the process serving the page, live
// — receivers → write-ahead log → queue → writers → store — with rates
// taken from two readings of its counters two seconds apart, the tenant's
// usage per hour and its newest dead letters. An admin's page: the
// process's figures are every tenant's together.
import { gql } from "./gql.js";
import { h, table, range, errorBox, when } from "./ui.js";
import { fmtNum } from "./chart.js";

const STATUS = `{ pipeline { at records { key value } payloads { key value } queueRecords walSegments walBytes rows { key value }
  flushes flushSeconds lostRecords refusedRecords deadLettersDropped kafkaLag memoryUsedBytes memoryLimitBytes } }`;
const TENANT = `query($r: TimeRangeInput!) { usage(range: $r) { hour events bytes queries }
  deadLetters(range: $r, limit: 5) { id receivedAt source format reason } }`;
const every = 2000;

export async function pipeline(view) {
  const flow = h("div", { id: "pipeline-flow", class: "flow" });
  const detail = h("div", { id: "pipeline-detail" });
  const tenant = h("div", { id: "pipeline-tenant" });
  view.replaceChildren(h("h2", {}, "Pipeline"),
    h("p", { class: "hint" }, "The ingest path of this process, read every 2 s: rates are per second over the last reading."), flow, detail, tenant);
  let prev = null, timer = null, closed = false;
  const tick = async () => {
    try {
      const st = (await gql(STATUS)).pipeline;
      draw(st, prev, flow, detail);
      prev = st;
    } catch (err) {
      flow.replaceChildren(errorBox(err));
      if (!prev) throw Object.assign(err, { shown: true });
    }
    if (!closed) timer = setTimeout(tick, every);
  };
  const tenantPart = async () => {
    try {
      const d = await gql(TENANT, { r: range() });
      tenant.replaceChildren(h("h3", {}, "This tenant"),
        table("pipeline-usage", ["Hour", "Records", "Bytes", "Queries"], d.usage.map((u) => [when(u.hour), Number(u.events), size(Number(u.bytes)), Number(u.queries)]),
          "No usage in this range."),
        h("h3", {}, "Newest dead letters"),
        table("pipeline-dead", ["Received", "Source", "Format", "Reason"], d.deadLetters.map((x) => [when(x.receivedAt), x.source, x.format, x.reason]),
          "Nothing refused in this range."));
    } catch (err) {
      tenant.replaceChildren(errorBox(err));
    }
  };
  await Promise.all([tick(), tenantPart()]);
  return { refresh: tenantPart, close() { closed = true; clearTimeout(timer); } };
}

// draw fills the flow and the tables from a reading and the one before.
function draw(st, prev, flow, detail) {
  const dt = prev ? (Date.parse(st.at) - Date.parse(prev.at)) / 1000 : 0;
  const rate = (now, before) => (prev && dt > 0 ? Math.max(0, now - before) / dt : null);
  const sum = (cs, pred) => cs.filter((c) => pred(c.key)).reduce((a, c) => a + c.value, 0);
  const outcome = (st, o) => sum(st.records, (k) => k.endsWith("/" + o));
  const perSec = (v) => (v == null ? "–" : fmtNum(v) + "/s");
  const rowsNow = sum(st.rows, () => true);
  const stage = (id, title, main, ...lines) => h("div", { class: "stage", id }, h("h3", {}, title), h("p", { class: "big" }, main),
    ...lines.filter(Boolean).map((l) => h("p", { class: "sub" }, l)));
  const avgFlush = prev && st.flushes > prev.flushes ? (1000 * (st.flushSeconds - prev.flushSeconds)) / (st.flushes - prev.flushes) : null;
  const mem = st.memoryLimitBytes > 0 ? `memory ${size(st.memoryUsedBytes)} of ${size(st.memoryLimitBytes)}`
    : st.memoryUsedBytes > 0 ? `memory ${size(st.memoryUsedBytes)} (no limit)` : "memory not watched (--memory-limit -1)";
  flow.replaceChildren(
    stage("stage-receivers", "Receivers", perSec(rate(outcome(st, "accepted"), prev && outcome(prev, "accepted"))) + " accepted",
      `refused ${perSec(rate(outcome(st, "rejected"), prev && outcome(prev, "rejected")))}, duplicates ${perSec(rate(outcome(st, "duplicate"), prev && outcome(prev, "duplicate")))}`,
      `pushed back ${perSec(rate(outcome(st, "backpressure") + outcome(st, "rate_limited"), prev && outcome(prev, "backpressure") + outcome(prev, "rate_limited")))}`,
      `${count(outcome(st, "accepted"))} accepted since start`),
    h("span", { class: "arrow", "aria-hidden": "true" }, "→"),
    stage("stage-wal", "Write-ahead log", `${count(st.walSegments)} segment${st.walSegments === 1 ? "" : "s"}`, bytesPerSec(rate(st.walBytes, prev && prev.walBytes)) + " appended"),
    h("span", { class: "arrow", "aria-hidden": "true" }, "→"),
    stage("stage-queue", "Queue", `${count(st.queueRecords)} waiting`, st.kafkaLag != null ? `Kafka lag ${count(st.kafkaLag)} records` : "in process", mem),
    h("span", { class: "arrow", "aria-hidden": "true" }, "→"),
    stage("stage-writers", "Writers", perSec(rate(rowsNow, prev && sum(prev.rows, () => true))) + " rows",
      avgFlush == null ? "no batch in the last reading" : `${avgFlush.toFixed(1)} ms a batch`,
      `refused ${count(st.refusedRecords)}, lost ${count(st.lostRecords)}, dead letters dropped ${count(st.deadLettersDropped)}`),
    h("span", { class: "arrow", "aria-hidden": "true" }, "→"),
    stage("stage-store", "Store", `${count(rowsNow)} rows`, st.rows.map((r) => `${r.key} ${count(r.value)}`).join(", ") || "nothing written yet"));
  const byKey = (id, head, cs) => table(id, [head, "since start", "per second"],
    cs.slice().sort((a, b) => a.key.localeCompare(b.key)).map((c) => {
      const before = prev ? (prev[id === "pipeline-records" ? "records" : "payloads"].find((p) => p.key === c.key) || { value: c.value }).value : null;
      return [c.key, count(c.value), perSec(rate(c.value, before))];
    }), "Nothing yet.");
  detail.replaceChildren(h("h3", {}, "Records by signal and outcome"), byKey("pipeline-records", "signal/outcome", st.records),
    h("h3", {}, "Payloads by source and outcome"), byKey("pipeline-payloads", "source/outcome", st.payloads));
}

// count is a whole number of records, in full below ten thousand.
const count = (v) => (v >= 1e4 ? fmtNum(v) : String(Math.round(v)));
const bytesPerSec = (v) => (v == null ? "–" : size(Math.round(v)) + "/s");
const size = (n) => (n >= 1 << 30 ? (n / (1 << 30)).toFixed(1) + " GiB" : n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(0) + " KiB" : n + " B");
