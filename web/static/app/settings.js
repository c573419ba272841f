// The settings page (admins): the tenant's approval policy, runbooks and
// alert rules, read and changed through the same GraphQL the API offers
// (setApprovalPolicy, putRunbook, deleteRunbook, createRule, deleteRule),
// every change audited by the server.
import { gql } from "./gql.js";
import { h, table, errorBox } from "./ui.js";

const READ = `{ approvalPolicy { source tiers { risk approvers timeout escalateTo } levels { role level } }
  runbooks { name service cause tags action risk params { key value } expected rollback source }
  rules { id name kind service operation signal op value for objective createdBy } }`;
const RISKS = ["info", "low", "medium", "high", "critical"];

export async function settings(view) {
  view.replaceChildren(h("h2", {}, "Settings"), h("p", { class: "empty" }, "Loading…"));
  let d;
  try {
    d = await gql(READ);
  } catch (err) {
    view.replaceChildren(h("h2", {}, "Settings"), errorBox(err));
    throw Object.assign(err, { shown: true });
  }
  const note = h("p", { id: "settings-note", role: "status", class: "hint" });
  const done = (text) => { note.textContent = text; settings(view).then(() => { const n = document.getElementById("settings-note"); if (n) n.textContent = text; }); };
  const fail = (err) => { note.textContent = ""; note.replaceWith(Object.assign(errorBox(err), { id: "settings-note" })); };
  view.replaceChildren(h("h2", {}, "Settings"), note,
    policySection(d.approvalPolicy, done, fail), runbookSection(d.runbooks, done, fail), ruleSection(d.rules, done, fail),
    h("h3", {}, "Set by the server's flags"),
    h("p", { class: "hint" }, "Notification routes (--notify-webhook-url, Slack), detector sensitivity and the language model are set when the server starts; they cannot be changed here yet."));
  return { live: true }; // a form: auto-refresh would lose what is being typed
}

function policySection(pol, done, fail) {
  const rows = RISKS.map((risk) => {
    const t = pol.tiers.find((x) => x.risk === risk) || { approvers: [], timeout: "", escalateTo: null };
    return h("tr", { "data-risk": risk }, h("th", { scope: "row" }, risk),
      h("td", {}, h("input", { class: "p-approvers", value: t.approvers.join(", "), size: 28, "aria-label": risk + " approvers" })),
      h("td", {}, h("input", { class: "p-timeout", value: t.timeout || "", size: 8, "aria-label": risk + " timeout" })),
      h("td", {}, h("select", { class: "p-escalate", "aria-label": risk + " escalates to" }, h("option", { value: "" }, "–"),
        RISKS.map((r) => h("option", { value: r, selected: t.escalateTo === r }, r)))));
  });
  const levels = h("textarea", { id: "p-levels", rows: 3, cols: 40, "aria-label": "role = level, one a line" },
    pol.levels.map((l) => `${l.role} = ${l.level}`).join("\n"));
  const form = h("form", { id: "policy-form" },
    h("table", {}, h("thead", {}, h("tr", {}, ["risk", "approvers (seats: responder or a level)", "timeout", "escalates to"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows)),
    h("label", {}, "Roles that count as approver levels (role = level, one a line)", h("br"), levels), h("br"),
    h("button", { type: "submit", id: "policy-save" }, "Save the policy"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const tiers = [...form.querySelectorAll("tbody tr")].map((r) => {
      const tier = { risk: r.dataset.risk, approvers: r.querySelector(".p-approvers").value.split(",").map((s) => s.trim()).filter(Boolean) };
      const timeout = r.querySelector(".p-timeout").value.trim(), esc = r.querySelector(".p-escalate").value;
      if (timeout) tier.timeout = timeout;
      if (esc) tier.escalateTo = esc;
      return tier;
    });
    const lv = levels.value.split("\n").map((l) => l.split("=").map((s) => s.trim())).filter((p) => p.length === 2 && p[0] && p[1]).map(([role, level]) => ({ role, level }));
    try {
      await gql(`mutation($t: [ApprovalTierInput!]!, $l: [RoleLevelInput!]) { setApprovalPolicy(tiers: $t, levels: $l) { source } }`, { t: tiers, l: lv });
      done("The approval policy is saved.");
    } catch (err) { fail(err); }
  });
  return h("section", { id: "settings-policy" }, h("h3", {}, "Approval policy"), h("p", { class: "hint" }, "From: " + pol.source), form);
}

function runbookSection(runbooks, done, fail) {
  const list = table("runbook-list", ["Name", "Matches", "Action", "Risk", "Params", "From", ""], runbooks.map((r) => [
    r.name, [r.service, r.cause, ...r.tags].filter(Boolean).join(", ") || "any", r.action, r.risk, r.params.map((p) => `${p.key}=${p.value}`).join(" "), r.source,
    r.source === "api" ? h("button", { type: "button", class: "delete", "aria-label": "delete runbook " + r.name, onclick: async () => {
      try { await gql(`mutation($n: String!) { deleteRunbook(name: $n) }`, { n: r.name }); done(`Runbook ${r.name} deleted.`); } catch (err) { fail(err); }
    } }, "delete") : ""]), "No runbooks: proposals come from the catalog.");
  const f = (id, label, attrs = {}) => h("label", {}, label + " ", h("input", { id, size: 14, ...attrs }));
  const form = h("form", { id: "runbook-form", class: "builder" },
    f("rb-name", "Name", { required: true }), f("rb-service", "Service"), f("rb-cause", "Cause", { placeholder: "bad_deploy" }),
    f("rb-action", "Action", { required: true, placeholder: "rollback" }),
    h("label", {}, "Risk ", h("select", { id: "rb-risk" }, RISKS.map((r) => h("option", { value: r, selected: r === "medium" }, r)))),
    f("rb-params", "Params", { placeholder: "version={{previous_version}}", size: 24 }), f("rb-expected", "Expected", { size: 24 }),
    h("button", { type: "submit" }, "Add the runbook"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (id) => form.querySelector("#" + id).value.trim();
    const input = { name: v("rb-name"), action: v("rb-action"), risk: v("rb-risk"),
      params: v("rb-params").split(/\s+/).filter((p) => p.includes("=")).map((p) => ({ key: p.slice(0, p.indexOf("=")), value: p.slice(p.indexOf("=") + 1) })) };
    for (const [k, id] of [["service", "rb-service"], ["cause", "rb-cause"], ["expected", "rb-expected"]]) if (v(id)) input[k] = v(id);
    try {
      await gql(`mutation($in: RunbookInput!) { putRunbook(input: $in) { name } }`, { in: input });
      done(`Runbook ${input.name} saved.`);
    } catch (err) { fail(err); }
  });
  return h("section", { id: "settings-runbooks" }, h("h3", {}, "Runbooks"), list, form);
}

function ruleSection(rules, done, fail) {
  const list = table("rule-list", ["Name", "Kind", "Service", "Condition", "By", ""], rules.map((r) => [
    r.name, r.kind, r.service + (r.operation ? " " + r.operation : ""),
    r.kind === "SLO" ? `objective ${r.objective}` : `${r.signal} ${r.op} ${r.value}${r.for ? " for " + r.for : ""}`, r.createdBy,
    h("button", { type: "button", class: "delete", "aria-label": "delete rule " + r.name, onclick: async () => {
      try { await gql(`mutation($id: ID!) { deleteRule(id: $id) }`, { id: r.id }); done(`Rule ${r.name} deleted.`); } catch (err) { fail(err); }
    } }, "delete")]), "No rules of the tenant's: the detectors watch every service by themselves.");
  const f = (id, label, attrs = {}) => h("label", {}, label + " ", h("input", { id, size: 12, ...attrs }));
  const form = h("form", { id: "rule-form", class: "builder" },
    f("ru-name", "Name", { required: true }), f("ru-service", "Service", { required: true }),
    h("label", {}, "Kind ", h("select", { id: "ru-kind" }, h("option", { value: "THRESHOLD" }, "threshold"), h("option", { value: "SLO" }, "SLO"))),
    h("label", {}, "Signal ", h("select", { id: "ru-signal" }, ["p99_ms", "error_ratio", "rate"].map((s) => h("option", { value: s }, s)))),
    h("label", {}, "Op ", h("select", { id: "ru-op" }, [">", ">=", "<", "<="].map((s) => h("option", { value: s }, s)))),
    f("ru-value", "Value", { size: 6, inputmode: "decimal" }), f("ru-for", "For", { size: 5, placeholder: "1m" }),
    f("ru-objective", "SLO objective", { size: 6, placeholder: "0.999" }),
    h("button", { type: "submit" }, "Add the rule"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (id) => form.querySelector("#" + id).value.trim();
    const input = { name: v("ru-name"), service: v("ru-service"), kind: v("ru-kind") };
    if (input.kind === "SLO") input.objective = parseFloat(v("ru-objective"));
    else {
      input.signal = v("ru-signal"); input.op = v("ru-op"); input.value = parseFloat(v("ru-value"));
      if (v("ru-for")) input.for = v("ru-for");
    }
    try {
      await gql(`mutation($in: RuleInput!) { createRule(input: $in) { id } }`, { in: input });
      done(`Rule ${input.name} added.`);
    } catch (err) { fail(err); }
  });
  return h("section", { id: "settings-rules" }, h("h3", {}, "Alert rules"), list, form);
}
