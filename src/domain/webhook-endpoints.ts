// What an account manages of its webhooks: registered endpoints (at most MAX_ENDPOINTS_PER_ACCOUNT), the signing
// secret for jobs' own webhookUrl, and the deliveries with their attempts (listed, redelivered).
import { type Caller, ownedOr404 } from "../auth/scope";
import {
  type AttemptRow,
  accountWebhookSecret,
  attemptsOf,
  type DeliveryRow,
  deleteEndpoint,
  type EndpointRow,
  ensureAccountWebhookSecret,
  findDelivery,
  findEndpoint,
  insertEndpointWithinLimit,
  listDeliveries,
  listEndpoints,
  reopenDelivery,
  replaceAccountWebhookSecret,
} from "../db/webhooks";
import { ApiError } from "../errors";
import { prefixedId } from "../ids";
import { LOST_MESSAGE_AFTER_MS } from "../queue/messages";
import type { Services } from "./services";
import { assertWebhookUrl } from "./webhook-addresses";
import { newSigningSecret, sendDeliveryMessages, WEBHOOK_EVENT_TYPES, type WebhookEventType } from "./webhooks";

export type { AttemptRow, DeliveryRow, EndpointRow };

// Each endpoint is one more request per job end: the fan-out stays bounded.
export const MAX_ENDPOINTS_PER_ACCOUNT = 20;

export async function registerEndpoint(
  svc: Services,
  accountId: string,
  input: { url: string; events?: WebhookEventType[]; description?: string },
): Promise<EndpointRow> {
  const row: EndpointRow = {
    id: prefixedId("whk"),
    accountId,
    url: assertWebhookUrl(input.url, svc.env),
    secret: newSigningSecret(),
    events: JSON.stringify(input.events ? [...new Set(input.events)] : WEBHOOK_EVENT_TYPES),
    description: input.description ?? null,
    createdAt: Date.now(),
    disabledAt: null,
  };
  // One conditional insert: registrations racing each other cannot pass the limit together.
  if (!(await insertEndpointWithinLimit(svc.d1, row, MAX_ENDPOINTS_PER_ACCOUNT))) {
    throw new ApiError(
      "webhooks.limit_reached",
      `an account may register at most ${MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints`,
      { maxEndpoints: MAX_ENDPOINTS_PER_ACCOUNT },
    );
  }
  return row;
}

export function endpointsOf(svc: Services, accountId: string): Promise<EndpointRow[]> {
  return listEndpoints(svc.db, accountId);
}

export async function removeEndpoint(svc: Services, caller: Caller, id: string): Promise<void> {
  const endpoint = ownedOr404(await findEndpoint(svc.db, id), caller, "webhooks.not_found", "webhook endpoint");
  await deleteEndpoint(svc.db, endpoint.id);
}

// ---- the account's signing secret

/** The secret as it is; a read never makes one. */
export async function signingSecretOf(svc: Services, accountId: string): Promise<string> {
  const secret = await accountWebhookSecret(svc.db, accountId);
  if (!secret) {
    throw new ApiError(
      "webhooks.secret_not_found",
      "the account has no signing secret yet: create it with POST /v1/webhooks/signing-secret",
    );
  }
  return secret;
}

/** Makes the account's secret unless it has one, which is kept (`created: false`): concurrent calls agree. */
export async function createSigningSecret(
  svc: Services,
  accountId: string,
): Promise<{ secret: string; created: boolean }> {
  const candidate = newSigningSecret();
  const secret = await ensureAccountWebhookSecret(svc.db, accountId, candidate);
  return { secret, created: secret === candidate };
}

export async function rotateSigningSecret(svc: Services, accountId: string): Promise<string> {
  const secret = newSigningSecret();
  await replaceAccountWebhookSecret(svc.db, accountId, secret);
  return secret;
}

// ---- deliveries

export interface DeliveryWithAttempts {
  delivery: DeliveryRow;
  attempts: AttemptRow[];
}

/** Newest first, `limit` at most; `before` is the last row of the previous page. */
export async function deliveriesPage(
  svc: Services,
  accountId: string,
  opts: { jobId?: string; limit: number; before?: { createdAt: number; id: string } },
): Promise<{ page: DeliveryWithAttempts[]; hasMore: boolean }> {
  const rows = await listDeliveries(svc.db, accountId, { ...opts, limit: opts.limit + 1 });
  const page = rows.slice(0, opts.limit);
  const attempts = await attemptsOf(
    svc.db,
    page.map((r) => r.id),
  );
  return {
    page: page.map((delivery) => ({ delivery, attempts: attempts.get(delivery.id)! })),
    hasMore: rows.length > opts.limit,
  };
}

export async function visibleDelivery(svc: Services, caller: Caller, id: string): Promise<DeliveryWithAttempts> {
  const delivery = ownedOr404(await findDelivery(svc.db, id), caller, "deliveries.not_found", "delivery");
  return { delivery, attempts: (await attemptsOf(svc.db, [delivery.id])).get(delivery.id)! };
}

/**
 * A finished delivery starts a new attempt sequence with the same event id. A pending one is refused unless its
 * queue message was lost (its attempt is overdue by the sweeper's window), so two sequences never run together.
 */
export async function redeliver(svc: Services, caller: Caller, id: string): Promise<DeliveryWithAttempts> {
  const { delivery } = await visibleDelivery(svc, caller, id);
  if (delivery.endpointId) {
    const endpoint = await findEndpoint(svc.db, delivery.endpointId);
    if (!endpoint || endpoint.disabledAt !== null) {
      throw new ApiError(
        "deliveries.endpoint_unavailable",
        `the delivery's endpoint was ${endpoint ? "disabled" : "deleted"}`,
        { endpointId: delivery.endpointId },
      );
    }
  }
  const now = Date.now();
  const reopened = await reopenDelivery(svc.db, delivery.id, now, now - LOST_MESSAGE_AFTER_MS);
  if (!reopened) {
    throw new ApiError(
      "deliveries.pending",
      "the delivery is still being retried; redeliver it once it has been delivered or has failed",
      { status: delivery.status },
    );
  }
  await sendDeliveryMessages(svc.env, [reopened.id]);
  return { delivery: reopened, attempts: (await attemptsOf(svc.db, [reopened.id])).get(reopened.id)! };
}
