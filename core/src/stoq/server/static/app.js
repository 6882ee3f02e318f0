// The results page: upload a file, then show the stoQ response as findings, errors and a tree.
// Everything taken from the response is put in the page with textContent, never as HTML:
// member names, metadata and macro source are chosen by whoever made the file.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function setStatus(text, isError) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

function problemText(body, status) {
  if (body && typeof body === "object" && body.detail) return `${body.title}: ${body.detail}`;
  return `the server answered ${status}`;
}

function authHeaders() {
  const token = $("token");
  return token && token.value ? { Authorization: `Bearer ${token.value}` } : {};
}

async function getJSON(url) {
  const response = await fetch(url, { headers: authHeaders() });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(problemText(body, response.status));
  return body;
}

async function showScan(scanId) {
  try {
    const body = await getJSON(`/api/v1/scans/${encodeURIComponent(scanId)}`);
    render(body);
    setStatus(`Scan ${scanId}: ${body.results.length} payload(s), ${body.errors.length} error(s).`);
  } catch (error) {
    setStatus(error.message, true);
  }
}

async function searchScans() {
  const list = $("scans");
  try {
    const rows = await getJSON(`/api/v1/scans?q=${encodeURIComponent($("search").value.trim())}`);
    list.replaceChildren();
    if (!rows.length) list.append(el("li", "none", "No saved scans match."));
    for (const row of rows) {
      const item = el("li");
      const button = el("button", "scan-link", `${row.filename || "(no name)"} · ${row.time}`);
      button.type = "button";
      button.addEventListener("click", () => showScan(row.scan_id));
      item.append(button, el("span", "facts", ` sha256 ${row.sha256} · ${row.payloads} payload(s) · ${row.errors} error(s)`));
      list.append(item);
    }
  } catch (error) {
    list.replaceChildren(el("li", "error-item", error.message));
  }
}

async function submit(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("filename", file.name);
  const headers = authHeaders();
  setStatus(`Scanning ${file.name}…`);
  $("result").hidden = true;
  let response;
  try {
    response = await fetch("/api/v1/scan", { method: "POST", body: form, headers });
  } catch (error) {
    setStatus(`The upload failed: ${error}`, true);
    return;
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    setStatus(problemText(body, response.status), true);
    return;
  }
  render(body);
  setStatus(`Scanned ${file.name}: ${body.results.length} payload(s), ${body.errors.length} error(s).`);
}

function filenameOf(payload) {
  const extra = (payload.payload_meta && payload.payload_meta.extra_data) || {};
  return extra.filename || (payload.extracted_by ? `(extracted by ${payload.extracted_by})` : "(submitted file)");
}

function mimetypeOf(payload) {
  for (const round of payload.workers || []) {
    if (round.mimetype && round.mimetype.mimetype) return round.mimetype.mimetype;
  }
  return "";
}

function findingsOf(decorators) {
  const summary = decorators && decorators.summary;
  if (!summary) return [];
  if (Array.isArray(summary)) return summary;
  for (const key of ["findings", "reasons", "items"]) {
    if (Array.isArray(summary[key])) return summary[key];
  }
  return [];
}

function renderFindings(response, anchors) {
  const list = $("findings");
  list.replaceChildren();
  const findings = findingsOf(response.decorators);
  if (!findings.length) list.append(el("li", "none", "No findings."));
  for (const finding of findings) {
    const item = el("li", "finding");
    const severity = String(finding.severity || "info").toLowerCase();
    item.append(el("span", `severity severity-${severity.replace(/[^a-z]/g, "")}`, severity));
    item.append(document.createTextNode(" " + (finding.reason || finding.title || finding.message || JSON.stringify(finding)) + " "));
    if (finding.payload_id && anchors.has(finding.payload_id)) {
      const link = el("a", "", "→ payload");
      link.href = `#payload-${anchors.get(finding.payload_id)}`;
      item.append(link);
    }
    list.append(item);
  }
}

function renderErrors(response) {
  const list = $("errors");
  list.replaceChildren();
  if (!response.errors.length) list.append(el("li", "none", "No errors."));
  for (const error of response.errors) {
    const where = [error.stage, error.plugin_name].filter(Boolean).join(", ");
    list.append(el("li", "error-item", `${where ? "[" + where + "] " : ""}${error.error}`));
  }
}

function timingRows(timings, prefix, rows) {
  for (const [name, value] of Object.entries(timings || {})) {
    if (typeof value === "number") rows.push([prefix + name, value]);
    else if (value && typeof value === "object") timingRows(value, `${prefix}${name}.`, rows);
  }
  return rows;
}

function renderTimings(payload) {
  const rows = timingRows(payload.timings || payload.plugin_timings, "", []);
  if (!rows.length) return null;
  const box = el("div", "timings");
  const longest = Math.max(...rows.map((row) => row[1])) || 1;
  for (const [name, seconds] of rows) {
    const row = el("div", "bar-row");
    row.append(el("span", "bar-name", name));
    const bar = el("span", "bar");
    bar.style.width = `${Math.max(1, Math.round((seconds / longest) * 300))}px`;
    row.append(bar, el("span", "bar-value", `${(seconds * 1000).toFixed(2)} ms`));
    box.append(row);
  }
  return box;
}

function renderNode(payload, index, errorsByPayload) {
  const node = el("div", "node");
  node.id = `payload-${index}`;
  const errors = errorsByPayload.get(payload.payload_id) || [];
  if (errors.length) node.classList.add("has-errors");
  node.append(el("div", "node-title", filenameOf(payload)));
  const mimetype = mimetypeOf(payload);
  node.append(el("div", "facts", `${payload.size} bytes${mimetype ? " · " + mimetype : ""} · sha256 ${payload.sha256}`));
  const workers = (payload.plugins_run && payload.plugins_run.workers) || [];
  node.append(el("div", "facts", `plugins: ${workers.flat().join(", ") || "none"}`));
  const why = [];
  for (const [dispatcher, meta] of Object.entries(payload.dispatch_meta || {})) {
    why.push(`${dispatcher}: ${Object.keys(meta || {}).join(", ")}`);
  }
  for (const [dispatcher, meta] of Object.entries(payload.deep_dispatch_meta || {})) {
    why.push(`${dispatcher} (deep): ${Object.keys(meta || {}).join(", ")}`);
  }
  if (why.length) node.append(el("div", "why", `why: ${why.join("; ")}`));
  for (const error of errors) node.append(el("div", "error-item", `[${error.stage}, ${error.plugin_name}] ${error.error}`));
  const timings = renderTimings(payload);
  if (timings) node.append(timings);
  (payload.workers || []).forEach((round, pass) => {
    for (const [plugin, results] of Object.entries(round)) {
      const details = el("details", "plugin");
      details.append(el("summary", "", pass ? `${plugin} (deep pass ${pass})` : plugin));
      details.append(el("pre", "", JSON.stringify(results, null, 2)));
      node.append(details);
    }
  });
  return node;
}

function render(response) {
  const errorsByPayload = new Map();
  for (const error of response.errors) {
    if (!errorsByPayload.has(error.payload_id)) errorsByPayload.set(error.payload_id, []);
    errorsByPayload.get(error.payload_id).push(error);
  }
  const anchors = new Map(response.results.map((payload, index) => [payload.payload_id, index]));
  const items = new Map();
  const tree = $("tree");
  tree.replaceChildren();
  response.results.forEach((payload, index) => {
    const item = el("li");
    item.append(renderNode(payload, index, errorsByPayload));
    item.append(el("ul"));
    items.set(payload.payload_id, item);
    const parent = items.get(payload.extracted_from);
    (parent ? parent.lastChild : tree).append(item);
  });
  renderFindings(response, anchors);
  renderErrors(response);
  $("raw-json").textContent = JSON.stringify(response, null, 2);
  $("result").hidden = false;
}

function setUp() {
  const drop = $("drop");
  const input = $("file");
  input.addEventListener("change", () => input.files.length && submit(input.files[0]));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) submit(event.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") input.click();
  });
  const search = $("search");
  if (search) {
    let timer;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(searchScans, 300);
    });
    searchScans();
    const token = $("token");
    if (token) token.addEventListener("change", searchScans);
  }
}

document.addEventListener("DOMContentLoaded", setUp);
