// The webhook consumer: one message, one attempt at one delivery. Failures come back through the queue with
// the retry schedule's delay; the message's own attempt count is the position in the schedule, so a
// redelivery (a new message) starts a new sequence.
import { findJob } from "../db/jobs";
import {
  type DeliveryRow,
  ensureAccountWebhookSecret,
  findDelivery,
  findEndpoint,
  markDeliveriesFailed,
  recordAttempt,
} from "../db/webhooks";
import { jobStatusResponse } from "../domain/jobs";
import type { Services } from "../domain/services";
import { checkWebhookUrl } from "../domain/webhook-addresses";
import {
  attemptTimeoutMs,
  eventOrigin,
  newSigningSecret,
  retryDelaysSeconds,
  webhookHeaders,
} from "../domain/webhooks";
import type { WebhookMessage } from "./messages";

export type WebhookOutcome = { kind: "done" } | { kind: "retry"; delaySeconds: number };

export async function handleWebhookMessage(svc: Services, message: Message<WebhookMessage>): Promise<void> {
  const outcome = await attemptDelivery(svc, message.body.deliveryId, message.attempts);
  if (outcome.kind === "retry") message.retry({ delaySeconds: outcome.delaySeconds });
  else message.ack();
}

/** The event as its receivers see it. `data` is built at each attempt, so its download_url is always fresh. */
export interface WebhookEvent {
  id: string;
  type: string;
  createdAt: string;
  data: Awaited<ReturnType<typeof jobStatusResponse>>;
  metadata: string | null;
}

/** `sequenceAttempt` is 1 for the first attempt of a sequence, 2 for its first retry, and so on. */
export async function attemptDelivery(
  svc: Services,
  deliveryId: string,
  sequenceAttempt: number,
): Promise<WebhookOutcome> {
  const { env, db } = svc;
  const delivery = await findDelivery(db, deliveryId);
  // Delivered, given up, or a duplicate message of a finished sequence: nothing to do.
  if (delivery?.status !== "pending") return { kind: "done" };

  const target = await resolveTarget(svc, delivery);
  if ("refused" in target) {
    await markDeliveriesFailed(db, [delivery.id], target.refused);
    return { kind: "done" };
  }
  const job = await findJob(db, delivery.jobId);
  if (!job) {
    await markDeliveriesFailed(db, [delivery.id], "the job no longer exists");
    return { kind: "done" };
  }
  const event: WebhookEvent = {
    id: delivery.eventId,
    type: delivery.eventType,
    createdAt: new Date(delivery.createdAt).toISOString(),
    data: await jobStatusResponse(env, job, eventOrigin(env, job)),
    metadata: job.webhookMetadata,
  };
  const body = JSON.stringify(event);
  const at = Date.now();
  const result = await post(
    target.url,
    body,
    await webhookHeaders(target.secret, delivery.eventId, delivery.id, body, at),
    attemptTimeoutMs(env),
  );

  const attempt = {
    attempt: delivery.attempts + 1,
    at,
    statusCode: result.statusCode,
    latencyMs: result.latencyMs,
    error: result.error,
  };
  const delivered = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
  const gone = result.statusCode === 410;
  const delays = retryDelaysSeconds(env);
  const delay = delays[sequenceAttempt - 1];
  if (delivered) {
    await recordAttempt(db, delivery, attempt, {
      status: "delivered",
      nextAttemptAt: null,
      deliveredAt: Date.now(),
      disableEndpoint: false,
    });
    return { kind: "done" };
  }
  if (gone || delay === undefined) {
    // 410: the receiver says it is gone for good; a registered endpoint is disabled with it.
    await recordAttempt(db, delivery, attempt, {
      status: "failed",
      nextAttemptAt: null,
      deliveredAt: null,
      disableEndpoint: gone,
    });
    return { kind: "done" };
  }
  await recordAttempt(db, delivery, attempt, {
    status: "pending",
    nextAttemptAt: Date.now() + delay * 1000,
    deliveredAt: null,
    disableEndpoint: false,
  });
  return { kind: "retry", delaySeconds: delay };
}

type Target = { url: string; secret: string } | { refused: string };

async function resolveTarget({ env, db }: Services, delivery: DeliveryRow): Promise<Target> {
  // Judged again at each attempt: settings change, and an old row must not outlive a tightened rule.
  const verdict = checkWebhookUrl(delivery.url, env);
  if (!verdict.ok) return { refused: `webhook URL refused: ${verdict.reason}` };
  if (delivery.endpointId) {
    const endpoint = await findEndpoint(db, delivery.endpointId);
    if (!endpoint) return { refused: "the endpoint was deleted" };
    if (endpoint.disabledAt !== null) return { refused: "the endpoint is disabled" };
    return { url: delivery.url, secret: endpoint.secret };
  }
  return { url: delivery.url, secret: await ensureAccountWebhookSecret(db, delivery.accountId, newSigningSecret()) };
}

interface PostResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

const MAX_ERROR_BODY_CHARS = 200;

/** One POST: no redirects followed (a 3xx is a failure), bounded by the timeout, response body included. */
async function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<PostResult> {
  const started = Date.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal });
    const text = await readSnippet(res);
    const latencyMs = Date.now() - started;
    if (res.status >= 200 && res.status < 300) return { statusCode: res.status, latencyMs, error: null };
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get("location");
      return { statusCode: res.status, latencyMs, error: `redirect${location ? ` to ${location}` : ""} not followed` };
    }
    return { statusCode: res.status, latencyMs, error: `HTTP ${res.status}${text ? `: ${text}` : ""}` };
  } catch (err) {
    const latencyMs = Date.now() - started;
    if (signal.aborted) return { statusCode: null, latencyMs, error: `timed out after ${timeoutMs / 1000} s` };
    return { statusCode: null, latencyMs, error: `request failed: ${(err as Error)?.message ?? String(err)}` };
  }
}

/** The start of the response body, for the attempt's error; never more than a few KB is read. */
async function readSnippet(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < 4096) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    /* a body cut short still tells what arrived */
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  const text = new TextDecoder().decode(bytes).trim();
  return text.length > MAX_ERROR_BODY_CHARS ? `${text.slice(0, MAX_ERROR_BODY_CHARS)}…` : text;
}
