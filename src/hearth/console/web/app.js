// Hearth's console: a client of the same server's Lambda, CloudWatch Logs and CloudWatch
// APIs, as boto3 is. Pages: the function list, and per function Code (editor, test events,
// invoke), Monitoring, Logs, Configuration, Versions & aliases, Cost.
import { EditorView, basicSetup } from "codemirror";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { unzipSync, zipSync, strFromU8, strToU8 } from "fflate";
import uPlot from "uplot";
import { ApiError, cloudwatch, lambda, logs, send, signIn, signOut, signedIn } from "./api.js";
import { estimate, PRICES } from "./cost.js";
import { SAMPLE_EVENTS } from "./events.js";

const TABS = ["code", "monitoring", "logs", "configuration", "versions", "cost"];
const RANGES = { "15m": [900, 60], "1h": [3600, 60], "3h": [10800, 300], "1d": [86400, 900] };
let current = null; // { name, config, files, path, view }
let timers = [];

const $ = (selector) => document.querySelector(selector);
const enc = encodeURIComponent;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function every(ms, fn) {
  timers.push(setInterval(fn, ms));
}

function stopTimers() {
  timers.forEach(clearInterval);
  timers = [];
}

// --- sign-in --------------------------------------------------------------------------------
async function needsSignIn() {
  const config = await (await fetch("/console/config.json")).json();
  return config.authRequired && !signedIn();
}

function showSignIn(message) {
  $("#main").replaceChildren(
    el("h2", { textContent: "Sign in" }),
    el("p", { className: "muted", textContent: "This server requires SigV4: the console signs every request " +
      "with your key pair, kept in this tab only." }),
    el("p", { className: "error", textContent: message || "" }),
    el("form", { id: "signin", onsubmit: async (event) => {
      event.preventDefault();
      signIn($("#access-key").value, $("#secret-key").value, $("#region").value);
      try {
        await listFunctions();
        $("#main").replaceChildren(el("p", { className: "muted", textContent: "Pick a function." }));
      } catch (error) {
        signOut();
        showSignIn(String(error.message));
      }
    } },
    el("label", {}, "Access key ID ", el("input", { id: "access-key", autocomplete: "username" })),
    el("label", {}, " Secret access key ", el("input", { id: "secret-key", type: "password", autocomplete: "current-password" })),
    el("label", {}, " Region ", el("input", { id: "region", value: "us-east-1", size: 10 })),
    el("button", { id: "signin-button", type: "submit", textContent: "Sign in" })),
  );
}

// --- the function list ----------------------------------------------------------------------
async function listFunctions() {
  const functions = [];
  let marker = "";
  do {
    const page = await lambda("GET", `/functions/?MaxItems=50${marker ? `&Marker=${enc(marker)}` : ""}`);
    functions.push(...page.Functions);
    marker = page.NextMarker || "";
  } while (marker);
  const list = $("#functions");
  list.replaceChildren(...functions.map((fn) => el("li", {
    className: "function", dataset: { name: fn.FunctionName }, onclick: () => openFunction(fn.FunctionName) },
    el("div", { className: "name", textContent: fn.FunctionName }),
    el("div", { className: "muted small", textContent:
      `${fn.Runtime || fn.PackageType} · ${fn.MemorySize} MB · ${fn.LastModified.slice(0, 19).replace("T", " ")}` }),
    el("div", { className: "spark", dataset: { spark: fn.FunctionName } }))));
  $("#count").textContent = `${functions.length} function${functions.length === 1 ? "" : "s"}`;
  await sparklines(functions.map((f) => f.FunctionName));
}

async function sparklines(names) {
  if (!names.length) return;
  const end = Date.now() / 1000;
  const queries = names.slice(0, 250).flatMap((name, i) => ["Invocations", "Errors"].map((metric) => ({
    Id: `${metric.toLowerCase()}${i}`,
    MetricStat: { Period: 300, Stat: "Sum", Metric: { Namespace: "AWS/Lambda", MetricName: metric,
      Dimensions: [{ Name: "FunctionName", Value: name }] } } })));
  const body = await cloudwatch("GetMetricData", { StartTime: end - 86400, EndTime: end,
    ScanBy: "TimestampAscending", MetricDataQueries: queries });
  const byId = Object.fromEntries(body.MetricDataResults.map((r) => [r.Id, r]));
  names.slice(0, 250).forEach((name, i) => {
    const box = document.querySelector(`[data-spark="${CSS.escape(name)}"]`);
    if (box) box.replaceChildren(spark(byId[`invocations${i}`], byId[`errors${i}`], end));
  });
}

// A 24-hour sparkline of invocations (blue) and errors (red), one point per 5 minutes.
function spark(invocations, errors, end) {
  const width = 200, height = 24, slots = 288;
  const series = (result) => {
    const values = new Array(slots).fill(0);
    result.Timestamps.forEach((t, i) => {
      const slot = Math.floor((t - (end - 86400)) / 300);
      if (slot >= 0 && slot < slots) values[slot] += result.Values[i];
    });
    return values;
  };
  const inv = series(invocations), err = series(errors);
  const top = Math.max(1, ...inv);
  const line = (values) => values.map((v, i) =>
    `${(i / (slots - 1)) * width},${height - 1 - (v / top) * (height - 2)}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("aria-label", `${inv.reduce((a, b) => a + b, 0)} invocations, ${err.reduce((a, b) => a + b, 0)} errors in 24 h`);
  for (const [values, color] of [[inv, "#36c"], [err, "#c33"]]) {
    const poly = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    poly.setAttribute("points", line(values));
    poly.setAttribute("fill", "none");
    poly.setAttribute("stroke", color);
    svg.append(poly);
  }
  return svg;
}

// --- a function's page ----------------------------------------------------------------------
async function openFunction(name) {
  stopTimers();
  document.querySelectorAll("nav li").forEach((li) => li.classList.toggle("current", li.dataset.name === name));
  const body = await lambda("GET", `/functions/${enc(name)}`);
  const files = {};
  const zip = new Uint8Array(await (await fetch(body.Code.Location)).arrayBuffer());
  for (const [path, data] of Object.entries(unzipSync(zip))) {
    if (!path.endsWith("/")) files[path] = strFromU8(data);
  }
  current = { name, config: body.Configuration, files, path: null, view: null,
    concurrency: body.Concurrency?.ReservedConcurrentExecutions };
  const config = current.config;
  $("#main").replaceChildren(
    el("h2", { id: "title", textContent: name }),
    el("p", { className: "muted", id: "summary", textContent: summary(config) }),
    el("div", { className: "tabs" }, ...TABS.map((tab) => el("button", {
      className: "tab", dataset: { tab }, textContent: tab[0].toUpperCase() + tab.slice(1), onclick: () => showTab(tab) }))),
    ...TABS.map((tab) => el("section", { id: `tab-${tab}`, hidden: true })),
  );
  buildCode();
  showTab("code");
}

function summary(config) {
  return `${config.Runtime} · ${config.Handler} · ${config.MemorySize} MB · timeout ${config.Timeout} s · ` +
    `${(config.Architectures || ["x86_64"])[0]} · ${config.State}`;
}

async function showTab(tab) {
  stopTimers();
  document.querySelectorAll(".tab").forEach((b) => b.classList.toggle("current", b.dataset.tab === tab));
  TABS.forEach((t) => { $(`#tab-${t}`).hidden = t !== tab; });
  const builders = { monitoring: buildMonitoring, logs: buildLogs, configuration: buildConfiguration,
    versions: buildVersions, cost: buildCost };
  if (builders[tab]) await builders[tab]();
}

// --- code, test events, invoke ----------------------------------------------------------------
function buildCode() {
  $("#tab-code").replaceChildren(
    el("div", { className: "code" },
      el("ul", { className: "tree", id: "files" }),
      el("div", { className: "editor-column" },
        el("div", { id: "editor" }),
        el("button", { id: "deploy", textContent: "Deploy", onclick: deploy }),
        el("button", { id: "new-file", textContent: "New file", onclick: newFile }),
        el("span", { id: "deploy-status", className: "muted" }))),
    el("h3", { textContent: "Test event" }),
    el("div", {}, sampleSelect(), savedSelect(),
      el("button", { id: "save-event", textContent: "Save event", onclick: saveEvent })),
    el("textarea", { id: "event", rows: 8, cols: 100, value: JSON.stringify(SAMPLE_EVENTS["hello-world"], null, 2) }),
    el("div", {}, el("button", { id: "invoke", textContent: "Invoke", onclick: invoke })),
    el("pre", { id: "result" }),
    el("pre", { id: "log-tail" }),
  );
  const paths = Object.keys(current.files).sort();
  const handlerFile = current.config.Handler?.split(".")[0];
  showFiles();
  openFile(paths.find((p) => p.replace(/\.(py|m?js|cjs)$/, "") === handlerFile) || paths[0] || "index.py");
}

function showFiles() {
  // A tree: each path indented by its depth, directories before their files.
  const paths = Object.keys(current.files).sort();
  const items = [];
  const seen = new Set();
  for (const path of paths) {
    const parts = path.split("/");
    parts.slice(0, -1).forEach((dir, depth) => {
      const key = parts.slice(0, depth + 1).join("/");
      if (!seen.has(key)) {
        seen.add(key);
        items.push(el("li", { className: "dir", textContent: `${dir}/`, style: `padding-left:${depth}em` }));
      }
    });
    items.push(el("li", { className: `file${path === current.path ? " current" : ""}`, dataset: { path },
      textContent: parts.at(-1), style: `padding-left:${parts.length - 1}em`, onclick: () => openFile(path) }));
  }
  $("#files").replaceChildren(...items);
}

function openFile(path) {
  if (current.view) current.files[current.path] = current.view.state.doc.toString();
  current.path = path;
  current.files[path] ??= "";
  const language = path.endsWith(".py") ? [python()] : /\.(m?js|cjs|ts)$/.test(path) ? [javascript()] : [];
  const parent = $("#editor");
  parent.replaceChildren();
  current.view = new EditorView({ doc: current.files[path], extensions: [basicSetup, ...language], parent });
  showFiles();
}

function newFile() {
  const path = prompt("New file path (e.g. lib/helpers.py)");
  if (path && !path.startsWith("/") && !path.includes("..")) openFile(path);
}

async function deploy() {
  current.files[current.path] = current.view.state.doc.toString();
  const zipped = zipSync(Object.fromEntries(Object.entries(current.files).map(([p, t]) => [p, strToU8(t)])));
  let binary = "";
  zipped.forEach((byte) => { binary += String.fromCharCode(byte); });
  const status = $("#deploy-status");
  status.textContent = "deploying…";
  try {
    await lambda("PUT", `/functions/${enc(current.name)}/code`, { ZipFile: btoa(binary) });
    await settled();
    status.textContent = "deployed";
  } catch (error) {
    status.textContent = `failed: ${error.message}`;
  }
}

async function settled() {
  for (let i = 0; i < 200; i++) {
    const config = await lambda("GET", `/functions/${enc(current.name)}/configuration`);
    if (config.LastUpdateStatus !== "InProgress" && config.State !== "Pending") {
      current.config = config;
      $("#summary").textContent = summary(config);
      return config;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the update did not settle");
}

function savedEvents() {
  return JSON.parse(localStorage.getItem(`hearth-events:${current.name}`) || "{}");
}

function sampleSelect() {
  const select = el("select", { id: "samples", onchange: () => {
    if (select.value) $("#event").value = JSON.stringify(SAMPLE_EVENTS[select.value], null, 2);
  } }, el("option", { value: "", textContent: "sample events…" }),
  ...Object.keys(SAMPLE_EVENTS).map((k) => el("option", { value: k, textContent: k })));
  return select;
}

function savedSelect() {
  const saved = savedEvents();
  const select = el("select", { id: "saved", onchange: () => {
    if (select.value) $("#event").value = savedEvents()[select.value];
  } }, el("option", { value: "", textContent: "saved events…" }),
  ...Object.keys(saved).sort().map((k) => el("option", { value: k, textContent: k })));
  return select;
}

function saveEvent() {
  const name = prompt("Save this event as");
  if (!name) return;
  const saved = savedEvents();
  saved[name] = $("#event").value;
  localStorage.setItem(`hearth-events:${current.name}`, JSON.stringify(saved));
  $("#saved").replaceWith(savedSelect());
}

async function invoke() {
  const started = performance.now();
  const response = await send("lambda", `/2015-03-31/functions/${enc(current.name)}/invocations`, {
    method: "POST", body: $("#event").value, headers: { "X-Amz-Log-Type": "Tail" } });
  const text = await response.text();
  const error = response.headers.get("X-Amz-Function-Error");
  const tail = response.headers.get("X-Amz-Log-Result");
  const log = tail ? new TextDecoder().decode(Uint8Array.from(atob(tail), (c) => c.charCodeAt(0))) : "";
  const report = log.match(/Duration: ([\d.]+) ms.*Max Memory Used: (\d+) MB/s);
  const figures = report ? ` · duration ${report[1]} ms · max memory ${report[2]} MB` : "";
  $("#result").textContent = `${!response.ok ? `HTTP ${response.status}` : error ? `Error (${error})` : "Succeeded"}` +
    ` in ${(performance.now() - started).toFixed(0)} ms${figures}\n${text}`;
  $("#log-tail").textContent = log;
}

// --- monitoring ---------------------------------------------------------------------------------
function buildMonitoring() {
  const range = el("select", { id: "range", onchange: drawCharts },
    ...Object.keys(RANGES).map((r) => el("option", { value: r, textContent: `last ${r}`, selected: r === "1h" })));
  $("#tab-monitoring").replaceChildren(el("div", {}, range, el("span", { className: "muted", textContent: " updated every 5 s" })),
    el("div", { className: "row", id: "charts" }));
  every(5000, drawCharts);
  return drawCharts();
}

async function drawCharts() {
  const [span, period] = RANGES[$("#range")?.value || "1h"];
  const end = Math.floor(Date.now() / 1000), start = end - span;
  const metric = (id, name, stat) => ({ Id: id, MetricStat: { Period: period, Stat: stat, Metric: {
    Namespace: "AWS/Lambda", MetricName: name, Dimensions: [{ Name: "FunctionName", Value: current.name }] } } });
  const body = await cloudwatch("GetMetricData", { StartTime: start, EndTime: end, ScanBy: "TimestampAscending",
    MetricDataQueries: [metric("invocations", "Invocations", "Sum"), metric("errors", "Errors", "Sum"),
      metric("throttles", "Throttles", "Sum"), metric("p50", "Duration", "p50"), metric("p99", "Duration", "p99"),
      metric("concurrency", "ConcurrentExecutions", "Maximum"), metric("asyncAge", "AsyncEventAge", "Maximum")] });
  const byId = Object.fromEntries(body.MetricDataResults.map((r) => [r.Id, r]));
  const charts = $("#charts");
  if (!charts) return;
  charts.replaceChildren();
  // Every period of the range, so the axis spans it; counts are 0 where nothing ran.
  const times = [];
  for (let t = Math.ceil(start / period) * period; t <= end; t += period) times.push(t);
  const draw = (title, ids, empty) => {
    const series = ids.map((id) => {
      const byTime = new Map(byId[id].Timestamps.map((t, i) => [Math.round(t), byId[id].Values[i]]));
      return times.map((t) => byTime.get(t) ?? empty);
    });
    const box = el("div", { className: "chart", dataset: { chart: title } });
    charts.append(box);
    new uPlot({ title, width: 380, height: 190, scales: { x: { time: true } },
      series: [{}, ...ids.map((id, i) => ({ label: id, stroke: ["#36c", "#c33", "#393"][i % 3],
        points: { show: true, size: 4 } }))] }, [times, ...series], box);
  };
  draw("Invocations", ["invocations", "errors", "throttles"], 0);
  draw("Duration (ms)", ["p50", "p99"], null);
  draw("Concurrent executions", ["concurrency"], 0);
  draw("Async event age (ms)", ["asyncAge"], null);
}

// --- logs -------------------------------------------------------------------------------------
function logGroup() {
  return current.config.LoggingConfig?.LogGroup || `/aws/lambda/${current.name}`;
}

function buildLogs() {
  $("#tab-logs").replaceChildren(
    el("input", { id: "pattern", size: 60, placeholder: 'filter pattern: ERROR, "a phrase", { $.level = "ERROR" }, [ip, user, ...]' }),
    el("button", { id: "search", textContent: "Search", onclick: searchLogs }),
    el("label", {}, el("input", { type: "checkbox", id: "follow", onchange: follow }), " live follow"),
    el("pre", { id: "logs", className: "logs" }),
  );
  return searchLogs();
}

let followFrom = 0;
const shown = new Set();

async function searchLogs() {
  const box = $("#logs");
  shown.clear();
  followFrom = Date.now() - 3600_000;
  box.textContent = "";
  await readLogs(true);
}

async function readLogs(replace) {
  const box = $("#logs");
  if (!box) return;
  const lines = [];
  try {
    let token;
    do {
      const page = await logs("FilterLogEvents", { logGroupName: logGroup(), filterPattern: $("#pattern").value,
        startTime: followFrom, ...(token ? { nextToken: token } : {}) });
      for (const e of page.events) {
        if (shown.has(e.eventId)) continue;
        shown.add(e.eventId);
        followFrom = Math.max(followFrom, e.timestamp);
        lines.push(`${new Date(e.timestamp).toISOString()} ${e.message}`);
      }
      token = page.nextToken;
    } while (token);
  } catch (error) {
    if (error instanceof ApiError && error.code === "ResourceNotFoundException") {
      box.textContent = "(no log group yet: the function has not logged)";
      return;
    }
    throw error;
  }
  if (replace && !lines.length) box.textContent = "(no events)";
  else if (lines.length) {
    if (box.textContent.startsWith("(")) box.textContent = "";
    box.textContent += lines.join("\n") + "\n";
    box.scrollTop = box.scrollHeight;
  }
}

function follow() {
  stopTimers();
  if ($("#follow").checked) every(2000, () => readLogs(false));
}

// --- configuration ----------------------------------------------------------------------------
async function buildConfiguration() {
  const config = current.config;
  const name = enc(current.name);
  const [eventConfig, urls, mappings] = await Promise.all([
    lambda("GET", `/2019-09-25/functions/${name}/event-invoke-config`).catch(() => null),
    lambda("GET", `/2021-10-31/functions/${name}/urls`).catch(() => null),
    lambda("GET", `/event-source-mappings/?FunctionName=${name}`).catch(() => null),
  ]);
  const env = Object.entries(config.Environment?.Variables || {}).map(([k, v]) => `${k}=${v}`).join("\n");
  $("#tab-configuration").replaceChildren(
    el("div", { className: "form" },
      el("label", {}, "Memory (MB) ", el("input", { id: "memory", type: "number", min: 128, max: 10240, value: config.MemorySize })),
      el("label", {}, "Timeout (s) ", el("input", { id: "timeout", type: "number", min: 1, max: 900, value: config.Timeout })),
      el("label", {}, "Description ", el("input", { id: "description", size: 40, value: config.Description || "" })),
      el("label", {}, "Environment (KEY=value per line)", el("textarea", { id: "environment", rows: 4, cols: 60, value: env })),
      el("label", {}, "Reserved concurrency (empty: none) ",
        el("input", { id: "reserved", type: "number", min: 0, value: current.concurrency ?? "" })),
      el("label", {}, "Async: maximum retry attempts ",
        el("input", { id: "retries", type: "number", min: 0, max: 2, value: eventConfig?.MaximumRetryAttempts ?? 2 })),
      el("label", {}, "Async: maximum event age (s) ",
        el("input", { id: "max-age", type: "number", min: 60, max: 21600, value: eventConfig?.MaximumEventAgeInSeconds ?? 21600 })),
      el("button", { id: "save-config", textContent: "Save configuration", onclick: saveConfiguration }),
      el("span", { id: "config-status", className: "muted" })),
    el("h3", { textContent: "Layers" }),
    el("ul", { id: "layers" }, ...(config.Layers || []).map((l) => el("li", { textContent: l.Arn }))),
    el("h3", { textContent: "Around the function" }),
    diagram(config, eventConfig, urls, mappings),
    el("h3", { textContent: "Async queue" }),
    el("pre", { id: "async-queue", textContent: await asyncQueue() }),
  );
}

function diagram(config, eventConfig, urls, mappings) {
  const box = (kind, text) => el("div", { className: `node ${kind}`, textContent: text });
  const sources = [
    ...(mappings?.EventSourceMappings || []).map((m) => box("source", `${m.EventSourceArn.split(":")[2]}: ${m.EventSourceArn.split(":").at(-1)} (${m.State})`)),
    ...(urls?.FunctionUrlConfigs || []).map((u) => box("source", `URL ${u.FunctionUrl} (${u.AuthType})`)),
  ];
  const destinations = [];
  const dest = eventConfig?.DestinationConfig || {};
  if (dest.OnSuccess?.Destination) destinations.push(box("destination", `on success → ${dest.OnSuccess.Destination}`));
  if (dest.OnFailure?.Destination) destinations.push(box("destination", `on failure → ${dest.OnFailure.Destination}`));
  if (config.DeadLetterConfig?.TargetArn) destinations.push(box("destination", `dead letters → ${config.DeadLetterConfig.TargetArn}`));
  return el("div", { className: "diagram", id: "diagram" },
    el("div", { className: "column" }, ...(sources.length ? sources : [box("none", "no triggers")])),
    el("div", { className: "arrow", textContent: "→" }),
    el("div", { className: "column" }, box("function", current.name)),
    el("div", { className: "arrow", textContent: "→" }),
    el("div", { className: "column" }, ...(destinations.length ? destinations : [box("none", "no destinations")])));
}

async function asyncQueue() {
  try {
    return JSON.stringify(await (await send("lambda", "/_hearth/async")).json(), null, 2);
  } catch {
    return "(unavailable)";
  }
}

async function saveConfiguration() {
  const status = $("#config-status");
  const name = enc(current.name);
  const variables = Object.fromEntries($("#environment").value.split("\n").map((l) => l.trim()).filter(Boolean)
    .map((line) => [line.split("=")[0], line.slice(line.indexOf("=") + 1)]));
  try {
    status.textContent = "saving…";
    await lambda("PUT", `/functions/${name}/configuration`, { MemorySize: Number($("#memory").value),
      Timeout: Number($("#timeout").value), Description: $("#description").value, Environment: { Variables: variables } });
    await settled();
    const reserved = $("#reserved").value;
    if (reserved === "") await lambda("DELETE", `/2017-10-31/functions/${name}/concurrency`).catch(() => null);
    else await lambda("PUT", `/2017-10-31/functions/${name}/concurrency`, { ReservedConcurrentExecutions: Number(reserved) });
    current.concurrency = reserved === "" ? undefined : Number(reserved);
    await lambda("PUT", `/2019-09-25/functions/${name}/event-invoke-config`, {
      MaximumRetryAttempts: Number($("#retries").value), MaximumEventAgeInSeconds: Number($("#max-age").value) });
    status.textContent = "saved";
  } catch (error) {
    status.textContent = `failed: ${error.message}`;
  }
}

// --- versions and aliases -----------------------------------------------------------------------
async function buildVersions() {
  const name = enc(current.name);
  const [versions, aliases] = await Promise.all([
    lambda("GET", `/functions/${name}/versions?MaxItems=50`), lambda("GET", `/functions/${name}/aliases?MaxItems=50`)]);
  $("#tab-versions").replaceChildren(
    el("button", { id: "publish", textContent: "Publish a version", onclick: async () => {
      await lambda("POST", `/functions/${name}/versions`, {});
      await buildVersions();
    } }),
    el("h3", { textContent: "Versions" }),
    el("table", { id: "versions" }, el("tr", {}, ...["Version", "Code SHA-256", "Description", "Last modified"].map((h) => el("th", { textContent: h }))),
      ...versions.Versions.map((v) => el("tr", {}, ...[v.Version, v.CodeSha256.slice(0, 12), v.Description, v.LastModified].map((c) => el("td", { textContent: c }))))),
    el("h3", { textContent: "Aliases" }),
    el("table", { id: "aliases" }, el("tr", {}, ...["Alias", "Version", "Weights"].map((h) => el("th", { textContent: h }))),
      ...aliases.Aliases.map((a) => {
        const extra = Object.entries(a.RoutingConfig?.AdditionalVersionWeights || {});
        const primary = 1 - extra.reduce((sum, [, w]) => sum + w, 0);
        const weights = [[a.FunctionVersion, primary], ...extra].map(([v, w]) => `${v}: ${(w * 100).toFixed(0)}%`).join(", ");
        return el("tr", {}, ...[a.Name, a.FunctionVersion, weights].map((c) => el("td", { textContent: c })));
      })),
  );
}

// --- cost -------------------------------------------------------------------------------------
async function buildCost() {
  const end = Math.floor(Date.now() / 1000), span = 86400;
  const metric = (id, name, stat) => ({ Id: id, MetricStat: { Period: span, Stat: stat, Metric: {
    Namespace: "AWS/Lambda", MetricName: name, Dimensions: [{ Name: "FunctionName", Value: current.name }] } } });
  const body = await cloudwatch("GetMetricData", { StartTime: end - span, EndTime: end,
    MetricDataQueries: [metric("requests", "Invocations", "Sum"), metric("duration", "Duration", "Sum")] });
  const sum = (id) => body.MetricDataResults.find((r) => r.Id === id).Values.reduce((a, b) => a + b, 0);
  const figures = estimate(sum("requests"), sum("duration"), current.config.MemorySize, span);
  const usd = (n) => `$${n.toFixed(n < 1 ? 6 : 2)}`;
  const row = (label, value) => el("tr", {}, el("th", { textContent: label }), el("td", { textContent: value }));
  $("#tab-cost").replaceChildren(
    el("p", { className: "muted", textContent: "Measured over the last 24 hours, scaled to a 30-day month, at AWS's " +
      `published on-demand prices (us-east-1, no free tier): $${PRICES.requestPerMillion} per million requests, ` +
      `$${PRICES.gbSecond.x86_64} (x86_64) or $${PRICES.gbSecond.arm64} (arm64) per GB-second.` }),
    el("table", { id: "cost" },
      row("Requests (24 h)", String(figures.requests)),
      row("GB-seconds (24 h)", figures.gbSeconds.toFixed(4)),
      row("Requests per month", Math.round(figures.monthRequests).toLocaleString("en")),
      row("GB-seconds per month", figures.monthGbSeconds.toFixed(1)),
      row("Lambda x86_64 per month", usd(figures.x86_64)),
      row("Lambda arm64 per month", usd(figures.arm64)),
      row("Always-on instance per month (EC2 spot + EBS, the seed documents' table)", usd(figures.alwaysOn))),
  );
}

// --- start --------------------------------------------------------------------------------------
async function start() {
  if (await needsSignIn()) {
    showSignIn();
    return;
  }
  try {
    await listFunctions();
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      signOut();
      showSignIn(error.message);
    } else throw error;
  }
}

start();
