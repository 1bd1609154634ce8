// Hearth's console: the Lambda, CloudWatch Logs and CloudWatch APIs of the same server,
// called from the browser as any client would (same origin, so no credentials in URLs).
import { EditorView, basicSetup } from "codemirror";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { unzipSync, zipSync, strFromU8, strToU8 } from "fflate";
import uPlot from "uplot";

const API = "/2015-03-31";
const SAMPLE_EVENTS = {
  "hello": { key1: "value1", key2: "value2" },
  "s3-put": { Records: [{ eventVersion: "2.1", eventSource: "aws:s3", awsRegion: "us-east-1",
    eventName: "ObjectCreated:Put", s3: { bucket: { name: "example-bucket" },
    object: { key: "test/key", size: 1024 } } }] },
  "sqs": { Records: [{ messageId: "059f36b4-87a3-44ab-83d2-661975830a7d", body: "Test message.",
    eventSource: "aws:sqs", awsRegion: "us-east-1" }] },
  "apigateway-proxy": { version: "2.0", routeKey: "GET /", rawPath: "/", headers: {},
    requestContext: { http: { method: "GET", path: "/" } }, isBase64Encoded: false },
  "schedule": { "detail-type": "Scheduled Event", source: "aws.events", detail: {} },
};

let current = null; // { name, files, path, view, config }
let chartTimer = null;

async function call(path, options = {}) {
  const response = await fetch(path, options);
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status} ${text}`);
  return { body: text ? JSON.parse(text) : {}, headers: response.headers };
}

async function target(target, contentType, body) {
  return (await call("/", { method: "POST", body: JSON.stringify(body),
    headers: { "X-Amz-Target": target, "Content-Type": contentType } })).body;
}

const logs = (op, body) => target(`Logs_20140328.${op}`, "application/x-amz-json-1.1", body);
const cloudwatch = (op, body) =>
  target(`GraniteServiceVersion20100801.${op}`, "application/x-amz-json-1.0", body);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, attrs);
  node.append(...children);
  return node;
}

async function listFunctions() {
  const { body } = await call(`${API}/functions/`);
  const list = document.getElementById("functions");
  list.replaceChildren();
  for (const fn of body.Functions) {
    const item = el("li", { className: "function", textContent: fn.FunctionName });
    item.dataset.name = fn.FunctionName;
    item.title = `${fn.Runtime} · ${fn.MemorySize} MB · ${fn.LastModified}`;
    item.onclick = () => openFunction(fn.FunctionName);
    list.append(item);
  }
}

async function openFunction(name) {
  clearInterval(chartTimer);
  document.querySelectorAll("nav li").forEach((li) => li.classList.toggle("current", li.dataset.name === name));
  const { body } = await call(`${API}/functions/${encodeURIComponent(name)}`);
  const zip = new Uint8Array(await (await fetch(body.Code.Location)).arrayBuffer());
  const files = {};
  for (const [path, data] of Object.entries(unzipSync(zip))) {
    if (!path.endsWith("/")) files[path] = strFromU8(data);
  }
  const config = body.Configuration;
  const main = document.getElementById("main");
  main.replaceChildren(
    el("h2", { id: "title", textContent: name }),
    el("p", { className: "muted", textContent:
      `${config.Runtime} · ${config.Handler} · ${config.MemorySize} MB · timeout ${config.Timeout} s · ${config.State}` }),
    el("div", { className: "files", id: "files" }),
    el("div", { id: "editor" }),
    el("button", { id: "deploy", textContent: "Deploy", onclick: deploy }),
    el("span", { id: "deploy-status", className: "muted" }),
    el("h3", { textContent: "Test event" }),
    sampleSelect(),
    el("textarea", { id: "event", rows: 4, cols: 80, value: savedEvent(name) }),
    el("div", {}, el("button", { id: "invoke", textContent: "Invoke", onclick: invoke })),
    el("pre", { id: "result" }),
    el("pre", { id: "log-tail" }),
    el("h3", { textContent: "Monitoring (last hour, per minute)" }),
    el("div", { className: "row", id: "charts" }),
    el("h3", { textContent: "Logs" }),
    el("input", { id: "pattern", placeholder: "filter pattern, e.g. ERROR or { $.level = \"ERROR\" }", size: 60 }),
    el("button", { id: "search", textContent: "Search", onclick: searchLogs }),
    el("pre", { id: "logs" }),
  );
  current = { name, files, path: null, view: null, config };
  showFiles();
  openFile(Object.keys(files).find((p) => p.startsWith(config.Handler.split(".")[0])) || Object.keys(files)[0]);
  await Promise.all([drawCharts(), searchLogs()]);
  chartTimer = setInterval(() => { drawCharts(); searchLogs(); }, 5000); // live
}

function showFiles() {
  const box = document.getElementById("files");
  box.replaceChildren(...Object.keys(current.files).sort().map((path) => {
    const span = el("span", { textContent: path, className: path === current.path ? "current" : "" });
    span.dataset.path = path;
    span.onclick = () => openFile(path);
    return span;
  }));
}

function openFile(path) {
  if (current.view) current.files[current.path] = current.view.state.doc.toString();
  current.path = path;
  const language = path.endsWith(".py") ? [python()] : /\.(m?js|cjs|ts)$/.test(path) ? [javascript()] : [];
  const parent = document.getElementById("editor");
  parent.replaceChildren();
  current.view = new EditorView({ doc: current.files[path] ?? "", extensions: [basicSetup, ...language], parent });
  window.hearthEditor = current.view; // for tests and the curious
  showFiles();
}

async function deploy() {
  current.files[current.path] = current.view.state.doc.toString();
  const zipped = zipSync(Object.fromEntries(Object.entries(current.files).map(([p, t]) => [p, strToU8(t)])));
  let binary = "";
  zipped.forEach((byte) => { binary += String.fromCharCode(byte); });
  const status = document.getElementById("deploy-status");
  status.textContent = "deploying…";
  await call(`${API}/functions/${encodeURIComponent(current.name)}/code`, {
    method: "PUT", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ZipFile: btoa(binary) }) });
  for (let i = 0; i < 100; i++) {
    const { body } = await call(`${API}/functions/${encodeURIComponent(current.name)}/configuration`);
    if (body.LastUpdateStatus !== "InProgress") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  status.textContent = "deployed";
}

function sampleSelect() {
  const select = el("select", { id: "samples" },
    el("option", { value: "", textContent: "sample events…" }),
    ...Object.keys(SAMPLE_EVENTS).map((k) => el("option", { value: k, textContent: k })));
  select.onchange = () => {
    if (select.value) document.getElementById("event").value = JSON.stringify(SAMPLE_EVENTS[select.value], null, 2);
  };
  return select;
}

function savedEvent(name) {
  return localStorage.getItem(`hearth-event:${name}`) || JSON.stringify(SAMPLE_EVENTS.hello, null, 2);
}

async function invoke() {
  const payload = document.getElementById("event").value;
  localStorage.setItem(`hearth-event:${current.name}`, payload); // saved per function
  const started = performance.now();
  const response = await fetch(`${API}/functions/${encodeURIComponent(current.name)}/invocations`, {
    method: "POST", body: payload, headers: { "X-Amz-Log-Type": "Tail" } });
  const text = await response.text();
  const error = response.headers.get("X-Amz-Function-Error");
  document.getElementById("result").textContent =
    `${error ? "Error (" + error + ")" : "Result"} in ${(performance.now() - started).toFixed(0)} ms:\n${text}`;
  const tail = response.headers.get("X-Amz-Log-Result");
  document.getElementById("log-tail").textContent = tail ? atob(tail) : "";
}

async function searchLogs() {
  const pattern = document.getElementById("pattern")?.value || "";
  const group = current.config.LoggingConfig?.LogGroup || `/aws/lambda/${current.name}`;
  const box = document.getElementById("logs");
  try {
    const body = await logs("FilterLogEvents", { logGroupName: group, filterPattern: pattern,
      startTime: Date.now() - 3600_000 });
    box.textContent = body.events.slice(-200)
      .map((e) => `${new Date(e.timestamp).toISOString()} ${e.message}`).join("\n") || "(no events)";
  } catch (error) {
    box.textContent = String(error.message).includes("ResourceNotFound") ? "(no log group yet)" : String(error);
  }
}

async function drawCharts() {
  const end = Date.now() / 1000, start = end - 3600;
  const metric = (id, name, stat) => ({ Id: id, MetricStat: { Period: 60, Stat: stat, Metric: {
    Namespace: "AWS/Lambda", MetricName: name, Dimensions: [{ Name: "FunctionName", Value: current.name }] } } });
  const body = await cloudwatch("GetMetricData", { StartTime: start, EndTime: end, ScanBy: "TimestampAscending",
    MetricDataQueries: [metric("invocations", "Invocations", "Sum"), metric("errors", "Errors", "Sum"),
      metric("throttles", "Throttles", "Sum"), metric("p50", "Duration", "p50"), metric("p99", "Duration", "p99"),
      metric("concurrency", "ConcurrentExecutions", "Maximum")] });
  const byId = Object.fromEntries(body.MetricDataResults.map((r) => [r.Id, r]));
  const charts = document.getElementById("charts");
  charts.replaceChildren();
  // Every minute of the window, so the axis spans the hour; counts are 0 where nothing ran.
  const times = [];
  for (let t = Math.ceil(start / 60) * 60; t <= end; t += 60) times.push(t);
  const draw = (title, ids, empty) => {
    const series = ids.map((id) => {
      const byTime = new Map(byId[id].Timestamps.map((t, i) => [Math.round(t), byId[id].Values[i]]));
      return times.map((t) => byTime.get(t) ?? empty);
    });
    const box = el("div", { className: "chart" });
    box.dataset.chart = title;
    charts.append(box);
    new uPlot({ title, width: 360, height: 180, scales: { x: { time: true } },
      series: [{}, ...ids.map((id, i) => ({ label: id, stroke: ["#36c", "#c33", "#393"][i % 3],
        points: { show: true, size: 4 } }))] },
      [times, ...series], box);
  };
  draw("Invocations", ["invocations", "errors", "throttles"], 0);
  draw("Duration (ms)", ["p50", "p99"], null);
  draw("Concurrency", ["concurrency"], 0);
}

listFunctions();
