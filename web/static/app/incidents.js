// Incidents: the list, and one incident with everything Inquest did about
// it — timeline, anomaly charts against their expected band, the
// investigation as it runs, its hypotheses and evidence (each opens its
// query in Explore), BubbleUp's bars, change events, the proposals with
// Approve and Reject, and the audit trail. Changes arrive by subscription.
import { gql, subscribe } from "./gql.js";
import { h, table, range, when, errorBox, loading } from "./ui.js";
import { line, bars, empty } from "./chart.js";

const LIST = `query($r: TimeRangeInput!) { incidents(range: $r) { id title severity status services openedAt resolvedAt } }`;
const INCIDENT = `query($id: ID!) { incident(id: $id) { id title severity status services openedAt resolvedAt acknowledgedBy
  timeline { time kind text actor } anomalies { id service operation signal start end severity expected observed lower upper explanation }
  investigation { id status } proposals { ${proposalFields()} } } }`;
const INVESTIGATION = `query($id: ID!) { investigation(id: $id) { id incidentId status summary narrative missing
  hypotheses { rank service cause confidence summary path affected evidence { kind text strength query { field variables } } } } }`;

function proposalFields() {
  return `id action target risk status rationale expected rollback params { key value } approvals { actor channel } history { time kind actor channel text }`;
}

export async function incidents(_m, view) {
  try {
    const d = await gql(LIST, { r: range() });
    view.replaceChildren(h("h2", {}, "Incidents"), table("incident-list", ["Opened", "Severity", "Status", "Incident", "Services", "Resolved"],
      d.incidents.map((i) => [when(i.openedAt), h("span", { class: "sev-" + i.severity }, i.severity), i.status,
        h("a", { href: "#incident=" + encodeURIComponent(i.id) }, i.title), i.services.join(", "), when(i.resolvedAt)]), "No incidents in this range."));
  } catch (err) {
    view.replaceChildren(h("h2", {}, "Incidents"), errorBox(err));
    throw Object.assign(err, { shown: true });
  }
  return {};
}

export async function incident(id, invID, view) {
  view.replaceChildren(loading());
  const closers = [];
  // Live by subscription; the auto-refresh also reads the incident's state
  // and proposals again, so that an update a slow connection missed (the
  // server drops them for subscribers that fall behind) still shows.
  const page = { live: true, close: () => closers.forEach((c) => c.close()) };
  if (!id && invID) {
    const inv = (await gql(INVESTIGATION, { id: invID })).investigation;
    if (!inv) throw new Error("no investigation " + invID);
    if (!inv.incidentId) {
      view.replaceChildren(h("h2", {}, "Investigation"), investigationBox(inv));
      return page;
    }
    id = inv.incidentId;
  }
  let inc;
  try {
    inc = (await gql(INCIDENT, { id })).incident;
  } catch (err) {
    view.replaceChildren(h("h2", {}, "Incident"), errorBox(err));
    throw Object.assign(err, { shown: true });
  }
  if (!inc) {
    view.replaceChildren(h("h2", {}, "Incident"), h("p", { class: "err" }, "No incident " + id + " (it may belong to another tenant)."));
    return page;
  }
  const status = h("span", { id: "incident-status", class: "badge " + inc.status }, inc.status);
  const act = (verb) => h("button", { type: "button", onclick: async () => {
    try { await gql(`mutation($id: ID!) { ${verb}Incident(id: $id) { status } }`, { id }); location.hash = location.hash; window.dispatchEvent(new HashChangeEvent("hashchange")); } catch (err) { alert(err.message); }
  } }, verb[0].toUpperCase() + verb.slice(1));
  const anomalies = h("section", { id: "anomalies" }, h("h3", {}, "Anomalies"));
  const invBox = h("section", { id: "investigation" }, h("h3", {}, "Investigation"));
  const progress = h("ol", { id: "progress", class: "progress", "aria-live": "polite" });
  const propBox = h("section", { id: "proposals" }, h("h3", {}, "Remediation"));
  const changes = h("section", { id: "changes" }, h("h3", {}, "Changes"));
  const audit = h("section", { id: "audit" }, h("h3", {}, "Audit trail"));
  view.replaceChildren(
    h("h2", { id: "incident-title" }, inc.title),
    h("p", { class: "sub" }, h("span", { class: "sev-" + inc.severity }, inc.severity), " · ", status, " · opened ", when(inc.openedAt),
      inc.resolvedAt ? " · resolved " + when(inc.resolvedAt) : "", inc.acknowledgedBy ? " · acknowledged by " + inc.acknowledgedBy : "", " · ",
      inc.services.join(" ← ")),
    h("div", { class: "actions" }, inc.status === "open" ? act("acknowledge") : null, inc.status !== "resolved" ? act("resolve") : act("reopen")),
    h("div", { class: "cols" },
      h("div", {}, invBox, progress, anomalies),
      h("div", {}, propBox, h("section", { id: "timeline" }, h("h3", {}, "Timeline"),
        table("timeline-table", ["Time", "What", "By"], inc.timeline.map((e) => [when(e.time), e.text, e.actor || ""]), "Nothing yet.")), changes, audit)));
  drawAnomalies(inc, anomalies);
  proposals(inc.proposals, propBox);
  propBox.dataset.sig = inc.proposals.map((p) => p.id + ":" + p.status + ":" + p.history.length).join(",");
  closers.push(subscribe(`subscription { proposalUpdated { id incidentId status } }`, {}, (d) => {
    if (d.proposalUpdated.incidentId !== id) return;
    refreshProposals(id, propBox, status);
    audit.replaceChildren(h("h3", {}, "Audit trail"));
    showAudit(inc, audit);
  }));
  closers.push(subscribe(`subscription { incidentUpdated { id status } }`, {}, (d) => {
    if (d.incidentUpdated.id === id) { status.textContent = d.incidentUpdated.status; status.className = "badge " + d.incidentUpdated.status; }
  }));
  if (inc.investigation) followInvestigation(inc.investigation.id, invBox, progress, closers);
  else invBox.append(h("p", { class: "empty" }, "No investigation yet: one starts by itself when the incident opens."));
  showChanges(inc, changes);
  showAudit(inc, audit);
  page.refresh = () => refreshProposals(id, propBox, status);
  return page;
}

function followInvestigation(invID, box, progress, closers) {
  const load = async () => {
    const inv = (await gql(INVESTIGATION, { id: invID })).investigation;
    box.replaceChildren(h("h3", {}, "Investigation"), investigationBox(inv));
  };
  closers.push(subscribe(`subscription($id: ID!) { investigationProgress(id: $id) { seq kind step text status } }`, { id: invID }, (d) => {
    const l = d.investigationProgress;
    progress.append(h("li", { class: "line " + l.kind }, l.step ? h("b", {}, l.step + " ") : "", l.text));
    if (l.kind === "done") load().catch((err) => box.append(errorBox(err)));
  }, (err) => progress.append(h("li", { class: "err" }, err.message))));
  load().catch((err) => box.append(errorBox(err)));
}

function investigationBox(inv) {
  const out = h("div", { class: "inv" }, h("p", {}, h("span", { id: "investigation-status", class: "badge " + inv.status }, inv.status), " ", inv.summary));
  if (inv.narrative) out.append(h("blockquote", {}, inv.narrative));
  inv.hypotheses.forEach((hy) => {
    const ev = hy.evidence.map((e) => h("li", {}, h("span", { class: "kind" }, e.kind), " ", e.text, " ",
      e.query ? h("a", { href: evidenceLink(e.query), class: "open" }, "open") : ""));
    const card = h("article", { class: "hypothesis", id: "hypothesis-" + hy.rank },
      h("h4", {}, `#${hy.rank} ${hy.service}: ${hy.cause.replace(/_/g, " ")} `, h("span", { class: "conf" }, `confidence ${(hy.confidence * 100).toFixed(0)}%`)),
      hy.path.length > 1 ? h("p", { class: "path" }, "Path: ", hy.path.join(" → ")) : "",
      h("ul", {}, ev));
    out.append(card);
    const bu = hy.evidence.find((e) => e.kind === "bubbleup" && e.query);
    if (bu && hy.rank === 1) bubbleBars(bu.query, card);
  });
  if (inv.missing.length) out.append(h("p", { class: "hint" }, "Not there to look at: " + inv.missing.join("; ")));
  return out;
}

// evidenceLink opens an evidence query in Explore (aggregates and
// BubbleUps) or in the traces page.
function evidenceLink(q) {
  if (q.field === "trace") { try { return "#trace=" + JSON.parse(q.variables).id; } catch { return "#traces"; } }
  return "#explore=" + encodeURIComponent(q.variables);
}

async function bubbleBars(q, card) {
  if (q.field !== "bubbleUp") return;
  const box = h("div", { class: "bubble" });
  card.append(box);
  try {
    const vars = JSON.parse(q.variables);
    const d = await gql(`query($input: BubbleUpInput!) { bubbleUp(input: $input) { fields { field values { value selectionShare baselineShare } } } }`, vars);
    bars(box, d.bubbleUp.fields.slice(0, 6).flatMap((f) => f.values.slice(0, 1).map((v) => ({ label: f.field + " = " + v.value, v: v.selectionShare,
      v2: v.baselineShare, text: (v.selectionShare * 100).toFixed(0) + "% vs " + (v.baselineShare * 100).toFixed(0) + "%" }))), { empty: "Nothing stands out." });
  } catch (err) {
    box.replaceChildren(errorBox(err));
  }
}

async function drawAnomalies(inc, box) {
  if (!inc.anomalies.length) { box.append(empty("No anomalies recorded.")); return; }
  if (inc.anomalies.length > 3) box.append(h("p", { class: "hint" }, `${inc.anomalies.length} anomalies; the first three of the root-most services are drawn.`));
  const opened = Date.parse(inc.openedAt);
  const from = new Date(opened - 10 * 60e3).toISOString(), to = inc.resolvedAt ? new Date(Date.parse(inc.resolvedAt) + 5 * 60e3).toISOString() : "now";
  // The root-most service's anomalies first, at most three charts.
  const order = (a) => { const i = inc.services.indexOf(a.service); return i < 0 ? 99 : i; };
  for (const a of [...inc.anomalies].sort((x, y) => order(x) - order(y)).slice(0, 3)) {
    const c = h("div", { class: "anomaly" });
    box.append(h("p", {}, h("b", {}, a.service + " " + a.signal.replace("_", " ")), " — ", a.explanation), c);
    const filters = [{ field: "service", op: "EQ", value: a.service }];
    if (a.operation) filters.push({ field: "name", op: "EQ", value: a.operation });
    const agg = a.signal === "p99_ms" ? [{ op: "P99", field: "duration_ms" }] : a.signal === "rate" ? [{ op: "RATE" }] : null;
    try {
      if (a.signal === "error_ratio") {
        const d = await gql(`query($in: AggregateInput!) { aggregate(input: $in) { groups { key series { timeUnixNano values } } } }`,
          { in: { range: { from, to }, filters, groupBy: ["status"], bucket: "30s", aggregations: [{ op: "COUNT" }] } });
        const byT = {};
        for (const g of d.aggregate.groups) for (const p of g.series) { const b = (byT[p.timeUnixNano] ||= { e: 0, a: 0 }); b.a += p.values[0] || 0; if (g.key[0] === "error") b.e += p.values[0] || 0; }
        const pts = Object.keys(byT).sort().map((t) => ({ t: Number(t) / 1e6, v: byT[t].a ? byT[t].e / byT[t].a : 0 }));
        line(c, [{ name: "error ratio", points: pts }], { band: { lower: a.lower, upper: a.upper }, mark: Date.parse(a.start), height: 140 });
      } else if (agg) {
        const d = await gql(`query($in: AggregateInput!) { aggregate(input: $in) { groups { series { timeUnixNano values } } } }`,
          { in: { range: { from, to }, filters, bucket: "30s", aggregations: agg } });
        const g = d.aggregate.groups[0];
        line(c, [{ name: a.signal, points: g ? g.series.map((p) => ({ t: Number(p.timeUnixNano) / 1e6, v: p.values[0] })) : [] }],
          { band: { lower: a.lower, upper: a.upper }, mark: Date.parse(a.start), height: 140 });
      } else {
        c.append(h("p", { class: "hint" }, `observed ${a.observed.toFixed(2)}, expected ${a.expected.toFixed(2)} (band ${a.lower.toFixed(2)}–${a.upper.toFixed(2)})`));
      }
    } catch (err) {
      c.replaceChildren(errorBox(err));
    }
  }
  box.append(h("p", { class: "hint" }, "Shaded: the band the detector expected; the line marks the anomaly's start."));
}

function proposals(list, box) {
  box.replaceChildren(h("h3", {}, "Remediation"));
  if (!list.length) { box.append(empty("No proposals yet: the investigation makes them when it finishes.")); return; }
  for (const p of list) {
    const reason = h("input", { "aria-label": "reason to reject " + p.id, placeholder: "why reject?", size: 18 });
    const decide = async (mutation, vars) => {
      try { await gql(mutation, vars); } catch (err) { card.append(h("p", { class: "err", role: "alert" }, err.message)); }
    };
    const pending = p.status === "pending";
    const card = h("article", { class: "proposal", id: "proposal-" + p.id },
      h("h4", {}, `${p.action} ${p.target} `, h("span", { class: "risk " + p.risk }, p.risk + " risk"), " ", h("span", { class: "badge " + p.status, "data-status": p.status }, p.status)),
      h("p", {}, p.params.map((x) => `${x.key}=${x.value}`).join(", ")),
      h("p", { class: "hint" }, p.rationale), h("p", {}, "Expected: ", p.expected),
      pending ? h("div", { class: "actions" },
        h("button", { type: "button", class: "approve", onclick: () => decide(`mutation($id: ID!) { approveProposal(id: $id, comment: "from the dashboard") { status } }`, { id: p.id }) }, "Approve"),
        reason, h("button", { type: "button", class: "reject", onclick: () => reason.value.trim() ? decide(`mutation($id: ID!, $r: String!) { rejectProposal(id: $id, reason: $r) { status } }`, { id: p.id, r: reason.value.trim() }) : reason.focus() }, "Reject")) : "",
      h("details", {}, h("summary", {}, "History"), h("ul", {}, p.history.map((e) => h("li", {}, `${when(e.time)} ${e.kind}${e.actor ? " by " + e.actor : ""}${e.channel ? " (" + e.channel + ")" : ""}: ${e.text}`)))));
    box.append(card);
  }
}

async function refreshProposals(id, box, status) {
  try {
    const d = await gql(`query($id: ID!) { incident(id: $id) { status proposals { ${proposalFields()} } } }`, { id });
    // Drawn again only when something changed (a reason being typed stays).
    const sig = d.incident.proposals.map((p) => p.id + ":" + p.status + ":" + p.history.length).join(",");
    if (box.dataset.sig !== sig) {
      box.dataset.sig = sig;
      proposals(d.incident.proposals, box);
    }
    status.textContent = d.incident.status;
    status.className = "badge " + d.incident.status;
  } catch (err) {
    box.append(errorBox(err));
  }
}

async function showChanges(inc, box) {
  const from = new Date(Date.parse(inc.openedAt) - 2 * 3600e3).toISOString();
  try {
    const d = await gql(`query($r: TimeRangeInput!) { events(range: $r, filters: [{field: "attr.change.type", op: EXISTS}], first: 20) { events { timestamp service name attributes { key value } } } }`,
      { r: { from, to: "now" } });
    const rows = d.events.events.map((e) => {
      const a = Object.fromEntries(e.attributes.map((x) => [x.key, x.value]));
      return [when(e.timestamp), e.service, a["change.type"] || e.name, (a.version || "") + (a.previous_version ? " (was " + a.previous_version + ")" : ""), a.author || ""];
    });
    box.append(table("changes-table", ["Time", "Service", "Change", "Version", "By"], rows, "No change events in the two hours before."));
  } catch (err) {
    box.append(errorBox(err));
  }
}

async function showAudit(inc, box) {
  try {
    const d = await gql(`query($r: TimeRangeInput!) { auditLog(range: $r, limit: 200) { time actor action target outcome detail } }`,
      { r: { from: new Date(Date.parse(inc.openedAt) - 60e3).toISOString(), to: "now+1m" } });
    const mine = d.auditLog.filter((e) => e.target === inc.id || e.target.startsWith("prop-") || e.action.startsWith("proposal.") || e.action.startsWith("incident."));
    box.append(table("audit-table", ["Time", "Who", "What", "Outcome", "Detail"], mine.slice(0, 30).map((e) => [when(e.time), e.actor, e.action + " " + e.target, e.outcome, e.detail]), "Nothing audited yet."));
  } catch (err) {
    box.append(h("p", { class: "hint" }, "The audit trail needs the admin role (" + err.message + ")."));
  }
}
