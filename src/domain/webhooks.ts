// Webhooks, free of HTTP: the events a job's end produces, who receives them and how they are signed. Which
// URLs may receive them at all: webhook-addresses.ts.
import { findJob, type JobRow } from "../db/jobs";
import { activeEndpointsFor, insertDeliveries, markDeliveriesFailed, type NewDelivery } from "../db/webhooks";
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
