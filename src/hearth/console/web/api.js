// Calls to Hearth's own APIs (Lambda REST, CloudWatch Logs, CloudWatch), signed with SigV4
// when the user signed in with an access key pair. The key pair lives in sessionStorage for
// the tab's life only: never in a URL, never sent anywhere but in signatures.
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";

const KEY = "hearth-console-credentials";
let signers = null;

export function signedIn() {
  return sessionStorage.getItem(KEY) !== null;
}

export function signIn(accessKeyId, secretAccessKey, region) {
  sessionStorage.setItem(KEY, JSON.stringify({ accessKeyId, secretAccessKey, region }));
  signers = null;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  signers = null;
}

function signer(service) {
  const saved = sessionStorage.getItem(KEY);
  if (!saved) return null;
  const { accessKeyId, secretAccessKey, region } = JSON.parse(saved);
  signers ??= {};
  signers[service] ??= new SignatureV4({
    service, region: region || "us-east-1", sha256: Sha256,
    credentials: { accessKeyId, secretAccessKey },
  });
  return signers[service];
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(`${code || status}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

// fetch(), signed for `service` when signed in; returns the Response.
export async function send(service, path, { method = "GET", headers = {}, body } = {}) {
  const url = new URL(path, location.origin);
  const sign = signer(service);
  let sent = { ...headers };
  if (sign) {
    const query = Object.fromEntries(url.searchParams);
    const signed = await sign.sign({
      method, protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined,
      path: url.pathname, query, headers: { ...headers, host: url.host }, body,
    });
    sent = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k.toLowerCase() !== "host"));
  }
  return fetch(url, { method, headers: sent, body });
}

async function parse(response) {
  const text = await response.text();
  let body = {};
  try { body = text ? JSON.parse(text) : {}; } catch { body = { message: text }; }
  if (!response.ok) {
    const code = response.headers.get("x-amzn-ErrorType") || body.__type || "";
    throw new ApiError(response.status, code, body.message || body.Message || text);
  }
  return body;
}

export async function lambda(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  // Lambda's paths carry the API version they were added in; a bare path is 2015-03-31's.
  return parse(await send("lambda", path.startsWith("/20") ? path : `/2015-03-31${path}`, init));
}

async function target(service, target, contentType, body) {
  return parse(await send(service, "/", { method: "POST", body: JSON.stringify(body),
    headers: { "X-Amz-Target": target, "Content-Type": contentType } }));
}

export const logs = (op, body) => target("logs", `Logs_20140328.${op}`, "application/x-amz-json-1.1", body);
export const cloudwatch = (op, body) =>
  target("monitoring", `GraniteServiceVersion20100801.${op}`, "application/x-amz-json-1.0", body);
