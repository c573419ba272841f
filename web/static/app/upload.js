// The upload page: files dropped here (or picked) go to /v1/ingest as an
// import (their timestamps are kept), with progress, and each gets the
// server's summary: the format it found, what was accepted and refused
// (with the reasons), the time range, and links to what was loaded.
import { token } from "./gql.js";
import { h } from "./ui.js";

// chunkBytes bounds one request: below the server's default body limit
// (16 MiB). Line-delimited files larger than this go in pieces, cut at
// line ends; one JSON document cannot be cut, and goes whole.
const chunkBytes = 8 << 20;
const maxRetries = 5;

export async function upload(view) {
  const input = h("input", { id: "upload-input", type: "file", multiple: true, accept: ".json,.ndjson,.jsonl,.txt,application/json" });
  const zone = h("div", { id: "upload-zone", class: "dropzone", tabindex: "0" },
    h("p", {}, "Drop telemetry files here, or ", h("label", { for: "upload-input", class: "linkish" }, "choose files"), "."),
    h("p", { class: "hint" }, "NDJSON events, OTLP JSON (traces, logs, metrics; a request or one per line), Zipkin v2 JSON and Jaeger JSON. " +
      "Their timestamps are kept, as inquest import keeps them. CSV is not read yet."), input);
  const rows = h("tbody", {});
  const results = h("table", { id: "upload-results" }, h("thead", {}, h("tr", {},
    ["file", "size", "progress", "format", "accepted", "refused", "time range", ""].map((x) => h("th", { scope: "col" }, x)))), rows);
  view.replaceChildren(h("h2", {}, "Upload"), zone, results);

  const take = (files) => { for (const f of files) send(f, rows); };
  input.addEventListener("change", () => { take([...input.files]); input.value = ""; });
  zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    take([...ev.dataTransfer.files]);
  });
  // The page keeps its uploads: auto-refresh leaves it alone.
  return { live: true };
}

// send uploads one file (in pieces when it is line-delimited and large)
// and fills its row as it goes.
async function send(file, rows) {
  const bar = h("progress", { max: "100", value: "0" });
  const cells = { format: h("td", {}), accepted: h("td", { class: "num" }), refused: h("td", {}), range: h("td", {}), links: h("td", {}) };
  const row = h("tr", { class: "upload" }, h("td", { class: "name" }, file.name), h("td", { class: "num" }, size(file.size)), h("td", {}, bar),
    cells.format, cells.accepted, cells.refused, cells.range, cells.links);
  rows.append(row);
  const total = { read: 0, accepted: 0, merged: 0, duplicates: 0, rejected: 0, malformed: 0, errors: [], from: "", to: "", formats: new Set() };
  try {
    const pieces = await piecesOf(file);
    let done = 0;
    for (const piece of pieces) {
      const s = await post(piece, (sent) => { bar.value = Math.round(100 * (done + sent) / file.size); });
      done += piece.size;
      add(total, s);
    }
    bar.value = 100;
    row.classList.add(total.accepted > 0 ? "ok" : "failed");
  } catch (err) {
    row.classList.add("failed");
    cells.refused.replaceChildren(h("span", { class: "err", role: "alert" }, err.message));
    return;
  }
  cells.format.textContent = [...total.formats].join(", ");
  cells.accepted.textContent = String(total.accepted);
  const refused = total.rejected + total.malformed;
  cells.refused.replaceChildren(refused ? h("details", {}, h("summary", {}, refused + " refused"),
    h("ul", {}, total.errors.map((e) => h("li", {}, e)))) : "none");
  if (total.from) {
    cells.range.textContent = total.from + " – " + total.to;
    const q = "?" + new URLSearchParams({ from: total.from, to: total.to }).toString();
    cells.links.replaceChildren(h("a", { href: "/" + q + "#explore" }, "explore"), " ", h("a", { href: "/" + q + "#traces" }, "traces"));
  }
}

// piecesOf cuts a large line-delimited file at line ends; anything else is
// one piece.
async function piecesOf(file) {
  if (file.size <= chunkBytes) return [file];
  const head = await file.slice(0, 64 << 10).text();
  const lines = head.split("\n").filter((l) => l.trim());
  if (lines.length < 2 || !lines.slice(0, -1).every((l) => l.trim().startsWith("{"))) return [file];
  const out = [];
  for (let start = 0; start < file.size;) {
    let end = Math.min(start + chunkBytes, file.size);
    if (end < file.size) {
      const tail = new Uint8Array(await file.slice(start, end).arrayBuffer());
      const nl = tail.lastIndexOf(10);
      if (nl > 0) end = start + nl + 1; // a line longer than a piece goes whole in the next
    }
    out.push(file.slice(start, end));
    start = end;
  }
  return out;
}

// post sends one piece as an import and resolves with the server's
// summary; a full queue or a quota (429, 503) is waited out as the server
// says (Retry-After), a few times.
function post(blob, progress, attempt = 0) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/ingest");
    xhr.setRequestHeader("X-Inquest-Import", "true");
    if (token()) xhr.setRequestHeader("Authorization", "Bearer " + token());
    xhr.upload.onprogress = (ev) => progress(ev.loaded);
    xhr.onerror = () => reject(new Error("the upload failed: the server could not be reached"));
    xhr.onload = () => {
      if ((xhr.status === 429 || xhr.status === 503) && attempt < maxRetries) {
        const wait = 1000 * (parseInt(xhr.getResponseHeader("Retry-After") || "1", 10) || 1);
        setTimeout(() => post(blob, progress, attempt + 1).then(resolve, reject), wait);
        return;
      }
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not a summary */ }
      if (body && typeof body.accepted === "number") { resolve(body); return; }
      const why = xhr.status === 401 ? "paste a token that may ingest in the Token box" : xhr.responseText.trim() || xhr.statusText;
      reject(new Error(`the server answered ${xhr.status}: ${why}`));
    };
    xhr.send(blob);
  });
}

function add(total, s) {
  for (const k of ["read", "accepted", "merged", "duplicates", "rejected", "malformed"]) total[k] += s[k] || 0;
  for (const e of s.errors || []) if (!total.errors.includes(e) && total.errors.length < 20) total.errors.push(e);
  if (s.format) total.formats.add(s.format);
  if (s.from && (!total.from || s.from < total.from)) total.from = s.from;
  if (s.to && (!total.to || s.to > total.to)) total.to = s.to;
}

const size = (n) => (n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + " MiB" : n >= 1024 ? (n / 1024).toFixed(0) + " KiB" : n + " B");
