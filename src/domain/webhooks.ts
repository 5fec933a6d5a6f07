// Webhooks, free of HTTP: the events a job's end produces, who receives them and how they are signed. Which
// URLs may receive them at all: webhook-addresses.ts.
import type { D1 } from "../db/client";
import type { JobRow } from "../db/jobs";
import { outboxStatements, pendingDeliveriesOfEvent } from "../db/webhooks";
import { toHex } from "../digests";
import { prefixedId, randomToken } from "../ids";
import type { WebhookMessage } from "../queue/messages";
import type { Services } from "./services";

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

/**
 * The origin of the download links inside a job's events (a queue consumer has no request): PUBLIC_BASE_URL when
 * the operator set one, else the origin the job was submitted to. Never a guess: without either (jobs older than
 * the origin column) the event carries no link, and the receiver fetches the job for one.
 */
export function eventOrigin(env: object, job: Pick<JobRow, "origin">): string | null {
  const configured = settingsOf(env).PUBLIC_BASE_URL?.trim();
  if (configured) return configured.replace(/\/+$/, "");
  return job.origin ?? null;
}

// ---- secrets and signatures --------------------------------------------------------------------------------

export function newSigningSecret(): string {
  return `whsec_${randomToken(32)}`;
}

const encoder = new TextEncoder();

/** Hex HMAC-SHA256 of `<timestamp>.<body>`, keyed with the whole secret string (`whsec_` included). */
export async function signWebhook(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`${timestamp}.${body}`));
  return toHex(mac);
}

export const WEBHOOK_USER_AGENT = "docconv-webhooks/1";

/** Every header of one attempt; the timestamp is the attempt's, so a retry is signed afresh. */
export async function webhookHeaders(
  secret: string,
  eventId: string,
  deliveryId: string,
  body: string,
  now = Date.now(),
): Promise<Record<string, string>> {
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

// ---- the outbox: deliveries written with the job's end, queued after it ------------------------------------

/**
 * The statements that write the deliveries of a job's end event; they join the batch of the terminal transition
 * (src/db/webhooks.ts `outboxStatements`). `eventId` names the event for `queueEventDeliveries` afterwards.
 */
export function webhookOutbox(
  d1: D1,
  jobId: string,
  status: "Succeeded" | "Failed" | "Canceled",
  eventId: string,
  now: number,
): D1PreparedStatement[] {
  return outboxStatements(d1, { jobId, status, eventId, eventType: EVENT_OF_STATUS[status]!, now });
}

export function newEventId(): string {
  return prefixedId("evt");
}

/**
 * Queues the deliveries the outbox wrote for an event. A failure leaves them pending: the sweeper sends any
 * pending delivery whose message never came, so an event is never lost.
 */
export async function queueEventDeliveries(svc: Services, eventId: string): Promise<number> {
  const ids = await pendingDeliveriesOfEvent(svc.db, eventId);
  await sendDeliveryMessages(svc.env, ids);
  return ids.length;
}

export async function sendDeliveryMessages(env: Env, deliveryIds: string[]): Promise<void> {
  const messages = deliveryIds.map((deliveryId) => ({
    body: { type: "webhook", deliveryId } satisfies WebhookMessage,
    contentType: "json" as const,
  }));
  for (let i = 0; i < messages.length; i += 100) await env.WEBHOOKS_QUEUE.sendBatch(messages.slice(i, i + 100));
}
