// Hearth's Node.js runtime client.
//
// Runs inside an execution environment as `node bootstrap.mjs` and speaks the Lambda Runtime
// API at $AWS_LAMBDA_RUNTIME_API, the way AWS's own client (aws-lambda-ric, the code behind
// /var/runtime/index.mjs) does: load the handler named by $_HANDLER, then loop
// GET /invocation/next -> call the handler -> POST /response or /error.
//
// Node built-ins only. Where a behaviour mirrors AWS, the comment says so; where Hearth
// deliberately differs, the comment says "Hearth:". See README.md next to this file.

import fs from 'node:fs';
import http from 'node:http';
import module, { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import util from 'node:util';

const require = createRequire(import.meta.url);
const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY_HEADER = 'Lambda-Runtime-Function-Error-Body';

// Hearth: a standby runtime is started before any function needs it (HEARTH_STANDBY=1), so a
// cold start does not pay for booting Node and loading this file. It blocks here until Hearth
// assigns it a function: one JSON object on stdin, {"env": {...}, "cwd": "..."}, then EOF.
// Everything below reads the environment only after this, so it sees the function's own.
if (process.env.HEARTH_STANDBY === '1') {
  let assignment;
  try {
    assignment = JSON.parse(fs.readFileSync(0, 'utf8'));
  } catch {
    process.exit(1); // Hearth closed the pool without assigning this runtime
  }
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, assignment.env);
  process.chdir(assignment.cwd);
  // NODE_PATH is read once at start-up; read it again now that it is the function's.
  module.Module._initPaths();
}

// ---------------------------------------------------------------------------------------------
// Errors: the Runtime.* types and the wire shape AWS's Node client posts.
// ---------------------------------------------------------------------------------------------

// AWS defines these as Error subclasses whose prototype name is "Runtime.<Class>"; V8 then
// renders their stacks as "Runtime.ImportModuleError: ...".
function runtimeErrorClass(name) {
  const cls = class extends Error {};
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}
const ImportModuleErrorClass = runtimeErrorClass('ImportModuleError');
const UserCodeSyntaxErrorClass = runtimeErrorClass('UserCodeSyntaxError');
const HandlerNotFoundClass = runtimeErrorClass('HandlerNotFound');
const MalformedHandlerNameClass = runtimeErrorClass('MalformedHandlerName');
const UnhandledPromiseRejectionClass = runtimeErrorClass('UnhandledPromiseRejection');
const JSONStringifyErrorClass = runtimeErrorClass('JSONStringifyError');
const NodeJsExitClass = runtimeErrorClass('NodeJsExit');

// AWS: `new ImportModuleError(e)` passes the original error to `super`, so the message is
// String(e) ("Error: Cannot find module 'index'\nRequire stack:\n- ..."); likewise for syntax
// errors, which keep the original stack (it points at the offending line).
// An error that crossed from the loader thread (the layer resolver below) comes back as a
// plain Error with its code: render it as Node's own would be ("Error [ERR_...]: ...").
const withCode = (e) =>
  typeof e?.code === 'string' && e.code.startsWith('ERR_') && !String(e).includes(`[${e.code}]`)
    ? `${e.name} [${e.code}]: ${e.message}`
    : String(e);
const ImportModuleError = (e) => new ImportModuleErrorClass(withCode(e));
const UserCodeSyntaxError = (e) => {
  const error = new UserCodeSyntaxErrorClass(String(e));
  error.stack = e.stack;
  return error;
};
const HandlerNotFound = (message) => new HandlerNotFoundClass(message);
const MalformedHandlerName = (message) => new MalformedHandlerNameClass(message);
const UnhandledPromiseRejection = (reason) =>
  new UnhandledPromiseRejectionClass(String(reason));
// AWS's current client (src/utils/errors.ts) names a result JSON.stringify cannot handle
// "Runtime.JSONStringifyError"; the older client (nodejs18.x-22.x) sent the same message
// under errorType "Error". Runtime.MarshalError is the Python runtime's name for it.
const JSONStringifyError = () => new JSONStringifyErrorClass('Unable to stringify response body');
// AWS: an async handler whose promise never settles, once the event loop has nothing left.
const NodeJsExit = () =>
  new NodeJsExitClass(
    'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly ' +
      'caused by a Promise that was never settled. For more information, see ' +
      'https://nodejs.org/docs/latest/api/process.html#exit-codes',
  );

function looksLikeError(obj) {
  return (
    obj &&
    typeof obj.name === 'string' &&
    typeof obj.message === 'string' &&
    typeof obj.stack === 'string'
  );
}

// AWS (Errors.toRapidResponse): Errors become {errorType: name, errorMessage: message,
// trace: stack lines}; anything else thrown becomes {errorType: typeof x, errorMessage:
// x.toString(), trace: []} - so `throw "boom"` is {"errorType":"string","errorMessage":"boom"}.
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || looksLikeError(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: error.stack.split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

// AWS (Errors.toFormatted): how an error appears in the text log, after a tab:
// {"errorType","errorMessage","code",...own enumerable fields,"stack":[lines]}.
function toFormatted(error) {
  const withEnumerableProperties = (_key, value) => {
    if (!(value instanceof Error)) return value;
    const out = Object.assign(
      { errorType: value.name, errorMessage: value.message, code: value.code },
      value,
    );
    if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
    return out;
  };
  try {
    return '\t' + JSON.stringify(error, withEnumerableProperties);
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// An errorType goes into an HTTP header: keep it to visible ASCII.
function headerSafe(value) {
  try {
    return String(value).replace(/[^\x20-\x7e]/g, (c) => encodeURIComponent(c));
  } catch {
    return 'Unhandled';
  }
}

// ---------------------------------------------------------------------------------------------
// Logging: console.* patched as AWS's LogPatch.js does.
// ---------------------------------------------------------------------------------------------

// AWS keeps the current request id under this global symbol; some libraries read it.
const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const writeStdout = process.stdout.write.bind(process.stdout);

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
});

const jsonLogFormat = process.env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';

// AWS text format: `<ISO time>\t<request id>\t<LEVEL>\t<util.format(...args)>`, one line per
// call: newlines inside the message become "\r" so that a multi-line message (a stack, a
// pretty-printed object) stays one record. Before the first invocation the request id is
// the string "undefined", as on AWS.
function logText(level, message, ...params) {
  const text = util.format(message, ...params);
  const line = `${new Date().toISOString()}\t${globalThis[REQUEST_ID]}\t${level.name}\t${text}`;
  writeStdout(line.replace(/\n/g, '\r') + '\n');
}

// AWS JSON format (AWS_LAMBDA_LOG_FORMAT=JSON): {timestamp, level, requestId, message, ...}.
function logJson(level, message, ...params) {
  const record = {
    timestamp: new Date().toISOString(),
    level: level.name,
    requestId: globalThis[REQUEST_ID],
  };
  const errorFields = (error) => ({
    errorType: error?.constructor?.name ?? 'UnknownError',
    errorMessage: error.message,
    stackTrace: typeof error.stack === 'string' ? error.stack.split('\n') : error.stack,
  });
  let line;
  if (params.length === 0) {
    record.message = message;
    try {
      line = JSON.stringify(record, (_k, v) =>
        v instanceof Error ? Object.assign(errorFields(v), v) : v,
      );
    } catch {
      record.message = util.format(message);
      line = JSON.stringify(record);
    }
  } else {
    record.message = util.format(message, ...params);
    const error = [message, ...params].find((p) => p instanceof Error);
    if (error) Object.assign(record, errorFields(error));
    line = JSON.stringify(record);
  }
  writeStdout(line.replace(/\n/g, '\r') + '\n');
}

function patchConsole() {
  const log = jsonLogFormat ? logJson : logText;
  // AWS: AWS_LAMBDA_LOG_LEVEL drops the levels below it; console.log is console.info.
  const threshold = LEVELS[process.env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  const at = (level) =>
    level.priority >= threshold.priority
      ? (msg, ...params) => log(level, msg, ...params)
      : () => {};
  console.trace = at(LEVELS.TRACE);
  console.debug = at(LEVELS.DEBUG);
  console.info = at(LEVELS.INFO);
  console.log = console.info;
  console.warn = at(LEVELS.WARN);
  console.error = at(LEVELS.ERROR);
  console.fatal = (msg, ...params) => log(LEVELS.FATAL, msg, ...params);
}

// AWS (structuredConsole.logError): "Invoke Error \t{...}" in text, the error itself in JSON.
function logError(label, err) {
  if (jsonLogFormat) console.error(intoError(err));
  else console.error(label, toFormatted(intoError(err)));
}

// ---------------------------------------------------------------------------------------------
// Runtime API client: node:http over one keep-alive connection.
// ---------------------------------------------------------------------------------------------

const endpoint = process.env.AWS_LAMBDA_RUNTIME_API ?? '';
const colon = endpoint.lastIndexOf(':');
const apiHost = endpoint.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
const apiPort = Number(endpoint.slice(colon + 1));
// Idle keep-alive sockets are unref'd by the Agent, so they never keep the event loop alive:
// the "wait for an empty event loop" semantics below depend on that.
const agent = new http.Agent({ keepAlive: true });

// Network errors meaning the Runtime API (and so the environment) is gone.
const GONE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNABORTED', 'ENOENT',
]);
const RETRY_DELAYS_MS = [10, 50, 100, 250, 500];

function httpRequestOnce(method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: apiHost, port: apiPort, method, path: API_PREFIX + urlPath, headers },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode, headers: res.headers, body: text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      err.reusedSocket = req.reusedSocket;
      reject(err);
    });
    req.end(body);
  });
}

// Hearth serves the same API on a Unix socket (HEARTH_RUNTIME_API_SOCKET), as it does for its
// Python client: cheaper than loopback TCP, and with a client of our own, requests can be
// pipelined: the response POST and the next GET go out in one write (see `respondAndNext`).
// Hearth's server always answers with Content-Length and in order, which is all this parses.
class UnixApi {
  constructor(socketPath) {
    this.socketPath = socketPath;
    this.sock = null;
    this.waiting = []; // resolvers of requests written, in order
    this.pending = Buffer.alloc(0);
    this.out = [];
  }

  connect() {
    const sock = net.createConnection(this.socketPath);
    sock.on('data', (data) => this.received(data));
    sock.on('error', (err) => this.lost(sock, err));
    sock.on('close', () => this.lost(sock, Object.assign(new Error('socket closed'), { code: 'ECONNRESET' })));
    this.sock = sock;
    this.fresh = true;
    this.pending = Buffer.alloc(0);
  }

  lost(sock, err) {
    if (this.sock !== sock) return;
    this.sock = null;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      err.reusedSocket = w.reused;
      w.reject(err);
    }
  }

  request(method, urlPath, body, headers) {
    if (this.sock === null) this.connect();
    let head = `${method} ${API_PREFIX}${urlPath} HTTP/1.1\r\nHost: localhost\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    // Written on the next tick, with whatever else is asked in this one.
    if (this.out.length === 0) process.nextTick(() => this.flush());
    this.out.push(Buffer.from(head + '\r\n'));
    if (body !== undefined) this.out.push(Buffer.from(body));
    const reused = !this.fresh;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject, reused });
      // A request in flight keeps the process alive; an idle connection must not (the
      // "wait for an empty event loop" semantics depend on that).
      this.sock.ref();
    });
  }

  flush() {
    const out = this.out;
    this.out = [];
    if (this.sock !== null && out.length > 0) this.sock.write(out.length === 1 ? out[0] : Buffer.concat(out));
  }

  received(data) {
    this.fresh = false;
    this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data;
    for (;;) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.pending.subarray(0, end).toString('latin1').split('\r\n');
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const sep = lines[i].indexOf(':');
        if (sep > 0) headers[lines[i].slice(0, sep).trim().toLowerCase()] = lines[i].slice(sep + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (this.pending.length < end + 4 + length) return;
      const body = this.pending.subarray(end + 4, end + 4 + length).toString('utf8');
      this.pending = this.pending.subarray(end + 4 + length);
      const waiter = this.waiting.shift();
      if (this.waiting.length === 0 && this.sock !== null) this.sock.unref();
      waiter?.resolve({ status: Number(lines[0].split(' ')[1]), headers, body });
    }
  }
}

const unixApi = process.env.HEARTH_RUNTIME_API_SOCKET
  ? new UnixApi(process.env.HEARTH_RUNTIME_API_SOCKET)
  : null;

function requestOnce(method, urlPath, body, headers) {
  return unixApi !== null
    ? unixApi.request(method, urlPath, body, headers)
    : httpRequestOnce(method, urlPath, body, headers);
}

// One Runtime API call, retried while the connection fails; when it keeps failing the API is
// gone (Hearth tore the environment down), and the process exits.
async function callApi(method, urlPath, body, headers = {}) {
  if (body !== undefined) {
    headers = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      ...headers,
    };
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return await requestOnce(method, urlPath, body, headers);
    } catch (err) {
      // A kept-alive socket the server closed meanwhile: retry at once (Node's documented pattern).
      if (err.reusedSocket && err.code === 'ECONNRESET' && attempt === 0) continue;
      if (!GONE.has(err.code) || attempt >= RETRY_DELAYS_MS.length) {
        process.stderr.write(
          `Hearth Node.js runtime: Runtime API at ${endpoint} is unreachable (${err.code ?? err.message}); exiting\n`,
        );
        process.exit(1);
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
    }
  }
}

async function nextInvocation() {
  for (;;) {
    const res = await callApi('GET', '/invocation/next');
    if (res.status === 200) return res;
    // aws-lambda-cpp retries a non-200 answer to /next; so do we, without spinning.
    process.stderr.write(`Hearth Node.js runtime: /invocation/next answered ${res.status}: ${res.body}\n`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function postResponse(requestId, body) {
  return callApi('POST', `/invocation/${encodeURIComponent(requestId)}/response`, body);
}

function postError(requestId, error) {
  const response = toRapidResponse(error);
  const urlPath = `/invocation/${encodeURIComponent(requestId)}/error`;
  return callApi('POST', urlPath, JSON.stringify(response), {
    // Hearth: AWS's Node client sends the type in the body only (and an X-Ray cause header);
    // the header lets the Runtime API record the type without parsing the body.
    [ERROR_TYPE_HEADER]: headerSafe(response.errorType),
  });
}

async function postInitError(error) {
  const response = toRapidResponse(error);
  await callApi('POST', '/init/error', JSON.stringify(response), {
    [ERROR_TYPE_HEADER]: headerSafe(response.errorType),
  });
}

// ---------------------------------------------------------------------------------------------
// Handler loading, as AWS's UserFunction.js.
// ---------------------------------------------------------------------------------------------

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

// Nearest package.json decides whether .js is ESM; node_modules and / stop the search.
function hasTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      return JSON.parse(fs.readFileSync(pj, 'utf8'))?.type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  const parent = path.resolve(folder, '..');
  return parent === folder ? false : hasTypeModule(parent);
}

function tryRequire(file) {
  return fs.existsSync(file) ? require(file) : undefined;
}

async function tryImport(file) {
  return fs.existsSync(file) ? await import(pathToFileURL(file).href) : undefined;
}

// AWS's order: the path as given (CommonJS), <name>.js (CommonJS unless "type": "module"),
// <name>.js as ESM when "type": "module", <name>.mjs, <name>.cjs, then Node's own resolution
// from the task root (which is what produces "Cannot find module 'index'\nRequire stack:...").
async function loadModule(appRoot, moduleRoot, moduleName) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, moduleName);
  const extensionless = tryRequire(lambdaStylePath);
  if (extensionless) return extensionless;

  const typeModule = hasTypeModule(path.dirname(lambdaStylePath));
  if (!typeModule) {
    const loaded = tryRequire(lambdaStylePath + '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (typeModule && (await tryImport(lambdaStylePath + '.js'))) ||
    (await tryImport(lambdaStylePath + '.mjs')) ||
    tryRequire(lambdaStylePath + '.cjs');
  if (loaded) return loaded;

  return require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
}

// ES modules ignore NODE_PATH, so `import x from "pkg"` would not find a layer's packages that
// `require` finds. AWS resolves them for ES modules on nodejs18.x and later: a bare specifier
// that Node's own resolution cannot find is looked up in each NODE_PATH folder (the layers'
// nodejs/node_modules and nodejs/nodeNN/node_modules), in order, with the package's own
// "exports" honoured. The hook runs in Node's loader thread, so it is only registered when
// there are layer folders to search (functions without layers pay nothing).
const ESM_LAYER_RESOLVER = `
const parents = PARENTS;
const bare = (s) => !/^(#|\\.{0,2}\\/|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(s);
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !bare(specifier)) throw error;
    for (const parentURL of parents) {
      try {
        return await nextResolve(specifier, { ...context, parentURL });
      } catch (again) {
        if (again?.code !== 'ERR_MODULE_NOT_FOUND') throw again;
      }
    }
    throw error;
  }
}`;

// Hearth: a sandbox (its code at /var/task) links every package of its NODE_PATH folders, in
// NODE_PATH's order, at /node_modules, the last folder ES module resolution looks in
// (NODE_PATH is reserved: Hearth sets all of it). There no hook is needed, and none is
// registered: on Node 20 a hook runs in a loader thread with a V8 heap of its own, ~10 MB more
// per environment, and starting it slows the cold start.
const merged = () => process.env.LAMBDA_TASK_ROOT === '/var/task' && isDirectory('/node_modules');

function isDirectory(folder) {
  try {
    return fs.statSync(folder).isDirectory();
  } catch {
    return false;
  }
}

function registerLayerResolver(nodePath) {
  const folders = (nodePath ?? '').split(':').filter(Boolean);
  if (folders.length === 0 || typeof module.register !== 'function' || merged()) return;
  // Resolving from a file beside node_modules/ searches that node_modules/ first.
  const parents = folders.map((f) => pathToFileURL(path.join(path.dirname(f), 'layer.mjs')).href);
  const source = ESM_LAYER_RESOLVER.replace('PARENTS', JSON.stringify(parents));
  module.register('data:text/javascript,' + encodeURIComponent(source));
}

async function loadHandler(appRoot, fullHandler) {
  if (!fullHandler) throw MalformedHandlerName('Bad handler');
  if (fullHandler.includes('..')) {
    throw MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  // "src/app.obj.handler" -> module root "src/", module "app", property path "obj.handler".
  const moduleAndHandler = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(moduleAndHandler));
  const match = moduleAndHandler.match(FUNCTION_EXPR);
  if (!match) throw MalformedHandlerName('Bad handler');
  const [, moduleName, handlerPath] = match;

  let app;
  try {
    app = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw UserCodeSyntaxError(e);
    // MODULE_NOT_FOUND from require, ERR_MODULE_NOT_FOUND from import (a missing package
    // imported by an .mjs handler is reported this way on AWS too).
    if (e?.code === 'MODULE_NOT_FOUND' || e?.code === 'ERR_MODULE_NOT_FOUND') {
      throw ImportModuleError(e);
    }
    throw e;
  }

  const handler = handlerPath.split('.').reduce((obj, key) => obj && obj[key], app);
  if (!handler) throw HandlerNotFound(`${fullHandler} is undefined or not exported`);
  if (typeof handler !== 'function') throw HandlerNotFound(`${fullHandler} is not a function`);
  return handler;
}

// ---------------------------------------------------------------------------------------------
// The invoke loop, as AWS's Runtime.js + CallbackContext.js + InvokeContext.js.
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Response streaming: awslambda.streamifyResponse and awslambda.HttpResponseStream, as on AWS.
// A streaming handler is called as handler(event, responseStream, context); what it writes
// goes to /response as a chunked POST in the Runtime API's streaming mode, and an error ends
// that POST with the error in its trailers.
// ---------------------------------------------------------------------------------------------

const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';

class HttpResponseStream {
  // AWS: the prelude (status, headers, cookies) as JSON, then 8 NUL bytes, then the body.
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(HTTP_INTEGRATION);
    const metadata = JSON.stringify(prelude ?? {});
    underlyingStream.beforeFirstWrite = (write) => {
      write(metadata);
      write(Buffer.alloc(8));
    };
    return underlyingStream;
  }
}

globalThis.awslambda = {
  streamifyResponse(handler) {
    handler[STREAMING] = 'response';
    return handler;
  },
  HttpResponseStream,
};

function responseStream(requestId) {
  let req = null;
  let contentType = 'application/octet-stream';
  let settle;
  const answered = new Promise((resolve) => {
    settle = resolve;
  });
  const open = () => {
    if (req !== null) return;
    req = http.request({
      agent,
      host: apiHost,
      port: apiPort,
      method: 'POST',
      path: `${API_PREFIX}/invocation/${encodeURIComponent(requestId)}/response`,
      headers: {
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        'Content-Type': contentType,
        Trailer: `${ERROR_TYPE_HEADER}, ${ERROR_BODY_HEADER}`,
      },
    }, (res) => {
      res.resume();
      res.on('end', settle);
      res.on('error', settle);
    });
    req.on('error', settle);
    if (stream.beforeFirstWrite) stream.beforeFirstWrite((chunk) => req.write(chunk));
  };
  const stream = new Writable({
    write(chunk, encoding, callback) {
      open();
      req.write(chunk, encoding, callback);
    },
    final(callback) {
      open();
      req.end();
      callback();
    },
  });
  // Writes after a failure are dropped, not a crash of the runtime.
  stream.on('error', () => {});
  stream.setContentType = (type) => {
    if (req !== null) throw new Error('Content type cannot be set after the first write');
    contentType = type;
  };
  // An error ends the response with it in the trailers (what was written stays written).
  const fail = (error) => {
    if (stream.writableFinished) return;
    open();
    const body = toRapidResponse(error);
    req.addTrailers({
      [ERROR_TYPE_HEADER]: headerSafe(body.errorType),
      [ERROR_BODY_HEADER]: Buffer.from(JSON.stringify(body)).toString('base64'),
    });
    req.end();
    stream.destroy();
  };
  return { stream, fail, answered };
}

function runStreaming(requestId, event, context) {
  const { stream, fail, answered } = responseStream(requestId);
  const failed = (err) => {
    logError('Invoke Error', err);
    fail(err);
  };
  try {
    Promise.resolve(handler(event, stream, context)).then(() => {
      if (!stream.writableEnded) stream.end();
    }, failed);
  } catch (err) {
    failed(err);
  }
  answered.then(() => {
    inFlight = null;
    scheduleNext();
  });
}

// What runs when the event loop empties ('beforeExit'); set per invocation.
let beforeExit = () => {};
process.on('beforeExit', () => beforeExit());

// The invocation in progress: errors escaping user code are reported against it.
let inFlight = null;

function nextNow() {
  handleOnce().catch((err) => {
    process.stderr.write(`Hearth Node.js runtime: unexpected error: ${err?.stack ?? err}\n`);
    process.exit(1);
  });
}

function scheduleNext() {
  setImmediate(nextNow);
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

// callback / succeed / fail / done and callbackWaitsForEmptyEventLoop for one invocation.
function callbackContext(requestId, isAsync) {
  let reported = false; // a response or error was posted (or is being posted)
  let finished = false; // the first of callback/succeed/fail/done was called
  let waitForEmptyEventLoop = true;

  const sendError = (err) => {
    reported = true;
    inFlight = null;
    logError('Invoke Error', err);
    postError(requestId, err).then(scheduleNext);
  };
  const complete = (result) => {
    if (reported) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    let body;
    try {
      // AWS: `undefined` is sent as null. Hearth: so is anything else JSON.stringify drops
      // (a function, a symbol), rather than an empty body.
      body = JSON.stringify(result === undefined ? null : result) ?? 'null';
    } catch {
      sendError(JSONStringifyError());
      return;
    }
    reported = true;
    inFlight = null;
    if (unixApi !== null) {
      // Pipelined: the GET /next is written in the same tick, so both leave in one write.
      postResponse(requestId, body);
      nextNow();
    } else {
      postResponse(requestId, body).then(scheduleNext);
    }
  };

  // callback(err, result): an error is reported at once; a result only once the event loop is
  // empty when context.callbackWaitsForEmptyEventLoop is true (the default), as on AWS: timers,
  // sockets and other pending work started by the handler finish first.
  const callback = (err, result) => {
    beforeExit = () => {};
    if (err !== undefined && err !== null) sendError(err);
    else if (!waitForEmptyEventLoop) complete(result);
    else {
      beforeExit = () => {
        beforeExit = () => {};
        setImmediate(() => complete(result));
      };
    }
  };
  // The legacy context methods report at once, whatever callbackWaitsForEmptyEventLoop says.
  const done = (err, result) => {
    beforeExit = () => {};
    if (err !== undefined && err !== null) sendError(err);
    else complete(result);
  };
  const succeed = (result) => done(null, result);
  const fail = (err) => done(err === undefined || err === null ? 'handled' : err, null);

  // Only the first call to any of them counts.
  const once = (fn) => (...args) => {
    if (finished) return;
    finished = true;
    fn(...args);
  };

  // AWS: if the event loop empties and nothing was reported, an async handler failed to settle
  // (Runtime.NodeJsExit); a non-async one that never called back succeeds with null.
  beforeExit = () => {
    beforeExit = () => {};
    finished = true;
    if (isAsync) sendError(NodeJsExit());
    else complete(null);
  };

  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: once(succeed),
    fail: once(fail),
    done: once(done),
  };
  return { callback: once(callback), context };
}

async function handleOnce() {
  const next = await nextInvocation();
  const headers = next.headers; // node lower-cases header names
  const requestId = headers['lambda-runtime-aws-request-id'];
  globalThis[REQUEST_ID] = requestId;
  inFlight = requestId;

  const { callback, context } = callbackContext(requestId, isAsyncHandler);
  try {
    // AWS forwards the X-Ray trace header through the environment.
    const traceId = headers['lambda-runtime-trace-id'];
    if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
    else delete process.env._X_AMZN_TRACE_ID;

    const deadline = Number(headers['lambda-runtime-deadline-ms']);
    Object.assign(context, {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
      identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      awsRequestId: requestId,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    });

    if (handler[STREAMING] === 'response') {
      beforeExit = () => {};
      runStreaming(requestId, JSON.parse(next.body), context);
      return;
    }
    const result = handler(JSON.parse(next.body), context, callback);

    if (result && typeof result.then === 'function') {
      // A promise (async handler or not): its outcome is the result, as on AWS.
      result.then(context.succeed, context.fail).catch(context.fail);
    } else if (result !== undefined && handler.length < 3) {
      // Hearth: a plain function with no callback parameter that returns a value answers with
      // it. AWS ignores that value and answers null once the event loop is empty (which is
      // still what happens here when such a handler returns undefined).
      context.succeed(result);
    }
  } catch (err) {
    callback(err);
  }
}

// ---------------------------------------------------------------------------------------------
// Errors that escape user code, and start-up.
// ---------------------------------------------------------------------------------------------

let initialised = false;
let crashing = false;

// AWS: an uncaught exception is reported for the invocation in progress (or as the init
// error) and the process exits with 129; an unhandled rejection likewise with 128.
async function crash(label, error, exitCode) {
  if (crashing) return; // already reporting the first one
  crashing = true;
  logError(label, error);
  try {
    if (!initialised) await postInitError(error);
    else if (inFlight !== null) await postError(inFlight, error);
  } finally {
    process.exit(exitCode);
  }
}

process.on('uncaughtException', (error) => {
  crash('Uncaught Exception', error, 129);
});
process.on('unhandledRejection', (reason) => {
  crash('Unhandled Promise Rejection', UnhandledPromiseRejection(reason), 128);
});

patchConsole();
registerLayerResolver(process.env.NODE_PATH);

let handler;
let isAsyncHandler = false;
try {
  handler = await loadHandler(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), process.env._HANDLER);
  isAsyncHandler = handler.constructor?.name === 'AsyncFunction';
} catch (error) {
  // Hearth: AWS reaches this through its uncaughtException handler (exit status 129); the init
  // error body and type are the same, the exit status here is 1.
  logError('Uncaught Exception', error);
  await postInitError(error);
  process.exit(1);
}
initialised = true;
scheduleNext();
