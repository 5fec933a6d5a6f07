// Webhooks, free of HTTP: the events a job's end produces, who receives them, how they are signed, and which
// URLs may receive them at all.
import { findJob, type JobRow } from "../db/jobs";
import { activeEndpointsFor, insertDeliveries, markDeliveriesFailed, type NewDelivery } from "../db/webhooks";
import { ApiError } from "../errors";
import { prefixedId, randomToken } from "../ids";
import type { WebhookMessage } from "../queue/messages";
import type { Services } from "./jobs";

export const WEBHOOK_EVENT_TYPES = ["job.succeeded", "job.failed", "job.canceled"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const EVENT_OF_STATUS: Partial<Record<JobRow["status"], WebhookEventType>> = {
  Succeeded: "job.succeeded",
  Failed: "job.failed",
  Canceled: "job.canceled",
};

// ---- settings ---------------------------------------------------------------------------------------------

/** Optional variables (wrangler [vars], .dev.vars or test bindings); the defaults below apply when unset. */
export interface WebhookSettings {
  ALLOW_LOOPBACK_WEBHOOKS?: string;
  WEBHOOK_RETRY_DELAYS_SECONDS?: string;
  WEBHOOK_TIMEOUT_SECONDS?: string;
  PUBLIC_BASE_URL?: string;
}

// Waits between attempts: 9 attempts over about 22 h 40 min. Queues cap one delay at 12 h.
export const DEFAULT_RETRY_DELAYS_SECONDS = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600];
export const MAX_RETRY_DELAY_SECONDS = 12 * 3600;
export const DEFAULT_ATTEMPT_TIMEOUT_SECONDS = 10;
// Without PUBLIC_BASE_URL, download links in events point at the local `wrangler dev` address.
export const DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8787";

const settingsOf = (env: object) => env as WebhookSettings;

export function loopbackAllowed(env: object): boolean {
  return String(settingsOf(env).ALLOW_LOOPBACK_WEBHOOKS ?? "").toLowerCase() === "true";
}

/** `WEBHOOK_RETRY_DELAYS_SECONDS="30,120,…"`: one number per retry; the attempts are one more. */
export function retryDelaysSeconds(env: object): number[] {
  const raw = settingsOf(env).WEBHOOK_RETRY_DELAYS_SECONDS;
  if (!raw) return DEFAULT_RETRY_DELAYS_SECONDS;
  const delays = raw.split(",").map((s) => Number(s.trim()));
  if (delays.some((d) => !Number.isFinite(d) || d < 0)) return DEFAULT_RETRY_DELAYS_SECONDS;
  return delays.map((d) => Math.min(Math.round(d), MAX_RETRY_DELAY_SECONDS));
}

export function attemptTimeoutMs(env: object): number {
  const seconds = Number(settingsOf(env).WEBHOOK_TIMEOUT_SECONDS);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_ATTEMPT_TIMEOUT_SECONDS) * 1000;
}

/** The API's public origin, for the download links inside events (a queue consumer has no request). */
export function publicOrigin(env: object): string {
  return (settingsOf(env).PUBLIC_BASE_URL || DEFAULT_PUBLIC_BASE_URL).replace(/\/+$/, "");
}

// ---- secrets and signatures --------------------------------------------------------------------------------

export function newSigningSecret(): string {
  return `whsec_${randomToken(32)}`;
}

const encoder = new TextEncoder();

/** Hex HMAC-SHA256 of `<timestamp>.<body>`, keyed with the whole secret string (`whsec_` included). */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const WEBHOOK_USER_AGENT = "docconv-webhooks/1";

/** Every header of one attempt; the timestamp is the attempt's, so a retry is signed afresh. */
export async function webhookHeaders(secret: string, eventId: string, deliveryId: string, body: string, now = Date.now()): Promise<Record<string, string>> {
  const timestamp = Math.floor(now / 1000);
  return {
    "Content-Type": "application/json",
    "User-Agent": WEBHOOK_USER_AGENT,
    "Docconv-Event-Id": eventId,
    "Docconv-Delivery-Id": deliveryId,
    "Docconv-Timestamp": String(timestamp),
    "Docconv-Signature": `t=${timestamp},v1=${await signWebhook(secret, timestamp, body)}`,
  };
}

// ---- creating deliveries when a job ends ------------------------------------------------------------------

/**
 * One event per job end, one delivery per receiving URL: the job's own webhookUrl and every enabled endpoint
 * of the account whose filter takes the event (a URL gets the event once; the job's own URL comes first).
 * Renditions (file and run conversions) are internal jobs and send nothing.
 */
export async function queueJobWebhooks(svc: Services, jobId: string): Promise<number> {
  const job = await findJob(svc.db, jobId);
  if (!job || job.kind !== "job") return 0;
  const type = EVENT_OF_STATUS[job.status];
  if (!type) return 0;
  const endpoints = (await activeEndpointsFor(svc.db, job.accountId)).filter((e) => endpointWants(e.events, type));
  const targets: { url: string; endpointId: string | null }[] = [];
  if (job.webhookUrl) targets.push({ url: job.webhookUrl, endpointId: null });
  for (const e of endpoints) if (!targets.some((t) => t.url === e.url)) targets.push({ url: e.url, endpointId: e.id });
  if (targets.length === 0) return 0;

  const now = Date.now();
  const eventId = prefixedId("evt");
  const rows: NewDelivery[] = targets.map((t) => ({
    id: prefixedId("dlv"),
    accountId: job.accountId,
    eventId,
    eventType: type,
    jobId: job.id,
    endpointId: t.endpointId,
    url: t.url,
    status: "pending",
    attempts: 0,
    nextAttemptAt: now,
    createdAt: now,
  }));
  await insertDeliveries(svc.db, rows);
  try {
    await sendDeliveryMessages(svc.env, rows.map((r) => r.id));
  } catch (err) {
    // Visible in the deliveries list, and redeliverable, rather than pending forever.
    await markDeliveriesFailed(svc.db, rows.map((r) => r.id), `could not be queued: ${(err as Error).message}`);
    throw err;
  }
  return rows.length;
}

export async function sendDeliveryMessages(env: Env, deliveryIds: string[]): Promise<void> {
  const messages = deliveryIds.map((deliveryId) => ({ body: { type: "webhook", deliveryId } satisfies WebhookMessage, contentType: "json" as const }));
  for (let i = 0; i < messages.length; i += 100) await env.WEBHOOKS_QUEUE.sendBatch(messages.slice(i, i + 100));
}

export function endpointWants(eventsJson: string, type: WebhookEventType): boolean {
  try {
    const events = JSON.parse(eventsJson) as string[];
    return events.includes(type);
  } catch {
    return false;
  }
}

// ---- URL safety -------------------------------------------------------------------------------------------
//
// Only IP literals and names can be judged here: Workers have no DNS lookup. A public name that resolves to a
// private address is the platform's to stop (a Worker's fetch cannot reach private networks).

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export type UrlVerdict =
  | { ok: true; url: string }
  | { ok: false; code: "webhooks.invalid_url" | "webhooks.blocked_address"; reason: string };

type AddressClass = "public" | "loopback" | "private" | "link-local" | "unspecified" | "multicast" | "reserved";

const METADATA_HOSTNAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.internal",
  "metadata.oraclecloud.com",
  "metadata.tencentyun.com",
  "100-100-100-200.aliyun", // not a real name today; cheap to keep out
]);

// Names that never point at the public internet.
const PRIVATE_SUFFIXES = [".internal", ".local", ".localdomain", ".home.arpa", ".intranet", ".corp", ".lan"];

/** Whether docconv may send webhooks to this URL; the normalized URL when it may. */
export function checkWebhookUrl(raw: string, env: object): UrlVerdict {
  const allowLoopback = loopbackAllowed(env);
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return invalid(`the URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return invalid("not an absolute URL");
  }
  if (url.protocol !== "https:" && !(allowLoopback && url.protocol === "http:")) {
    return invalid(allowLoopback ? "the URL must use https or http" : "the URL must use https");
  }
  if (url.username || url.password) return invalid("credentials in the URL are not allowed; sign with the webhook secret instead");
  const host = url.hostname.toLowerCase().replace(/\.+$/, "");
  if (!host) return invalid("the URL has no host");

  const klass = classifyHost(host);
  if (klass.kind === "invalid") return invalid(klass.reason);
  if (klass.kind === "metadata") return blocked(`${host} is a cloud metadata address`);
  if (klass.kind === "public") return { ok: true, url: url.href };
  if (klass.kind === "loopback" && allowLoopback) return { ok: true, url: url.href };
  return blocked(`${host} is ${ARTICLE[klass.kind]} address`);
}

const ARTICLE: Record<Exclude<AddressClass, "public">, string> = {
  loopback: "a loopback",
  private: "a private",
  "link-local": "a link-local",
  unspecified: "an unspecified",
  multicast: "a multicast",
  reserved: "a reserved",
};

/** Throws the API's error when the URL may not receive webhooks; otherwise the normalized URL. */
export function assertWebhookUrl(raw: string, env: object): string {
  const verdict = checkWebhookUrl(raw, env);
  if (!verdict.ok) throw new ApiError(verdict.code, `webhook URL refused: ${verdict.reason}`, { url: raw, reason: verdict.reason });
  return verdict.url;
}

function invalid(reason: string): UrlVerdict {
  return { ok: false, code: "webhooks.invalid_url", reason };
}
function blocked(reason: string): UrlVerdict {
  return { ok: false, code: "webhooks.blocked_address", reason };
}

type HostClass = { kind: AddressClass } | { kind: "metadata" } | { kind: "invalid"; reason: string };

function classifyHost(host: string): HostClass {
  if (host.startsWith("[")) {
    const bytes = parseIPv6(host.slice(1, -1));
    if (!bytes) return { kind: "invalid", reason: "not a valid IPv6 address" };
    return { kind: classifyIPv6(bytes) };
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) {
    if (v4 === "invalid") return { kind: "invalid", reason: "not a valid IPv4 address" };
    if (v4 === IPV4_METADATA) return { kind: "metadata" };
    return { kind: classifyIPv4(v4) };
  }
  if (METADATA_HOSTNAMES.has(host)) return { kind: "metadata" };
  if (host === "localhost" || host.endsWith(".localhost")) return { kind: "loopback" };
  if (!host.includes(".")) return { kind: "private" }; // a single label only resolves inside a network
  if (PRIVATE_SUFFIXES.some((s) => host.endsWith(s))) return { kind: "private" };
  return { kind: "public" };
}

const IPV4_METADATA = ipv4(169, 254, 169, 254);

function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

/**
 * An IPv4 literal in any form inet_aton accepts (`127.1`, `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`) as a
 * number; null when the host is not numeric at all (a name). URL parsing already normalizes these; this
 * stays correct if it ever does not.
 */
export function parseIPv4(host: string): number | "invalid" | null {
  const parts = host.split(".");
  if (parts.length > 4 || !parts.every((p) => /^(0x[0-9a-f]*|[0-9]+)$/i.test(p))) {
    // A name whose last label is numeric is an IP literal gone wrong (WHATWG URL rule).
    return /^(0x[0-9a-f]*|[0-9]+)$/i.test(parts[parts.length - 1] ?? "") ? "invalid" : null;
  }
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0x/i.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (p.length > 1 && p.startsWith("0")) {
      if (!/^[0-7]+$/.test(p)) return "invalid";
      v = parseInt(p, 8);
    } else v = parseInt(p, 10);
    if (!Number.isFinite(v)) return "invalid";
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 256 ** (4 - values.length)) return "invalid";
  let n = 0;
  for (let i = 0; i < values.length; i++) n += values[i]! * 256 ** (3 - i);
  return n + last;
}

function inV4(n: number, base: number, bits: number): boolean {
  const size = 2 ** (32 - bits);
  return n >= base && n < base + size;
}

export function classifyIPv4(n: number): AddressClass {
  if (inV4(n, ipv4(0, 0, 0, 0), 8)) return "unspecified"; // 0/8: "this network"
  if (inV4(n, ipv4(127, 0, 0, 0), 8)) return "loopback";
  if (inV4(n, ipv4(10, 0, 0, 0), 8) || inV4(n, ipv4(172, 16, 0, 0), 12) || inV4(n, ipv4(192, 168, 0, 0), 16)) return "private";
  if (inV4(n, ipv4(100, 64, 0, 0), 10)) return "private"; // carrier-grade NAT
  if (inV4(n, ipv4(169, 254, 0, 0), 16)) return "link-local";
  if (inV4(n, ipv4(224, 0, 0, 0), 4)) return "multicast";
  if (
    inV4(n, ipv4(240, 0, 0, 0), 4) || // reserved, broadcast
    inV4(n, ipv4(192, 0, 0, 0), 24) || // IETF protocol assignments
    inV4(n, ipv4(192, 0, 2, 0), 24) ||
    inV4(n, ipv4(198, 51, 100, 0), 24) ||
    inV4(n, ipv4(203, 0, 113, 0), 24) || // documentation
    inV4(n, ipv4(198, 18, 0, 0), 15) // benchmarking
  ) {
    return "reserved";
  }
  return "public";
}

/** 16 bytes of an IPv6 literal (without brackets), or null. Zone ids are refused. */
export function parseIPv6(text: string): Uint8Array | null {
  if (!text || text.includes("%")) return null;
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = parseDottedQuad(text.slice(lastColon + 1));
    if (!v4) return null;
    tail4 = v4;
    head = text.slice(0, lastColon + 1) + "0:0"; // placeholder groups, replaced below
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groupsOf(halves[0]!);
  const right = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (![...left, ...right].every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right].map((g) => parseInt(g, 16));
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (tail4.length) bytes.set(tail4, 12);
  return bytes;
}

function parseDottedQuad(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

function startsWith(bytes: Uint8Array, prefix: number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[byte]! & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

const embeddedV4 = (bytes: Uint8Array, at: number) => ipv4(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);

export function classifyIPv6(b: Uint8Array): AddressClass | "metadata" {
  const zeroUpTo = (n: number) => b.slice(0, n).every((x) => x === 0);
  if (b.every((x) => x === 0)) return "unspecified";
  if (zeroUpTo(15) && b[15] === 1) return "loopback";
  // Addresses that carry an IPv4 address are judged by it: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d),
  // NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::).
  const v4 =
    zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff ? embeddedV4(b, 12)
    : zeroUpTo(12) ? embeddedV4(b, 12)
    : startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96) ? embeddedV4(b, 12)
    : startsWith(b, [0x20, 0x02], 16) ? embeddedV4(b, 2)
    : null;
  if (v4 !== null) return v4 === IPV4_METADATA ? "metadata" : classifyIPv4(v4);
  if (startsWith(b, [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54], 128)) return "metadata"; // AWS IMDS over IPv6
  if (startsWith(b, [0xfc], 7)) return "private"; // unique local
  if (startsWith(b, [0xfe, 0x80], 10)) return "link-local";
  if (startsWith(b, [0xfe, 0xc0], 10)) return "private"; // site-local (deprecated)
  if (startsWith(b, [0xff], 8)) return "multicast";
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return "private"; // local-use NAT64
  if (startsWith(b, [0x20, 0x01, 0x00, 0x00], 32)) return "reserved"; // Teredo hides its IPv4 address
  if (startsWith(b, [0x20, 0x01, 0x0d, 0xb8], 32)) return "reserved"; // documentation
  if (startsWith(b, [0x01, 0x00, 0, 0, 0, 0, 0, 0], 64)) return "reserved"; // discard
  return "public";
}
