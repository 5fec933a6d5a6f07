// /v1/webhooks…: registered endpoints, the account's signing secret for jobs' own webhookUrl, and the
// deliveries with their attempts (list, redeliver).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import {
  createSigningSecret,
  type DeliveryWithAttempts,
  deliveriesPage,
  type EndpointRow,
  endpointsOf,
  redeliver,
  registerEndpoint,
  removeEndpoint,
  rotateSigningSecret,
  signingSecretOf,
  visibleDelivery,
} from "../domain/webhook-endpoints";
import { WEBHOOK_EVENT_TYPES } from "../domain/webhooks";
import { ApiError, validationHook } from "../errors";
import { apiKeySecurity, errorResponses, JobStatusResponseSchema } from "../schemas";

const EventType = z.enum(WEBHOOK_EVENT_TYPES).openapi({ example: "job.succeeded" });

export const EndpointSchema = z
  .object({
    id: z.string().openapi({ example: "whk_3kT9pQ2mZx8vB1nC4dE5" }),
    url: z.string().openapi({ example: "https://example.com/hooks/docconv" }),
    events: z.array(EventType),
    description: z.string().nullable(),
    createdAt: z.string(),
    disabledAt: z
      .string()
      .nullable()
      .openapi({ description: "set when the endpoint answered 410 Gone; a disabled endpoint gets no events" }),
  })
  .openapi("WebhookEndpoint");

export const CreatedEndpointSchema = EndpointSchema.extend({
  secret: z.string().openapi({ example: "whsec_…", description: "the signing secret: shown only in this response" }),
}).openapi("WebhookEndpointCreated");

export const SigningSecretSchema = z
  .object({ secret: z.string().openapi({ example: "whsec_…" }) })
  .openapi("WebhookSigningSecret", { description: "signs events sent to jobs' own `webhookUrl`" });

const AttemptSchema = z
  .object({
    attempt: z.number().int().openapi({ description: "1, 2, …; redeliveries continue the count" }),
    at: z.string(),
    statusCode: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "null when no response came (timeout, connection error)" }),
    latencyMs: z.number().int(),
    error: z.string().nullable(),
  })
  .openapi("WebhookAttempt");

export const DeliverySchema = z
  .object({
    id: z.string().openapi({ example: "dlv_…" }),
    eventId: z.string().openapi({
      example: "evt_…",
      description: "the `id` of the event and `Docconv-Event-Id`; the same on every attempt and redelivery",
    }),
    eventType: EventType,
    jobId: z.string(),
    endpointId: z.string().nullable().openapi({ description: "null: the job's own webhookUrl" }),
    url: z.string(),
    status: z.enum(["pending", "delivered", "failed"]),
    attemptCount: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    attempts: z.array(AttemptSchema),
  })
  .openapi("WebhookDelivery");

export const WebhookEventSchema = z
  .object({
    id: z.string().openapi({ example: "evt_…" }),
    type: EventType,
    createdAt: z.string(),
    data: JobStatusResponseSchema,
    metadata: z.string().nullable().openapi({ description: "the job's `webhookMetadata`" }),
  })
  .openapi("WebhookEvent");

const IdParam = (example: string) =>
  z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example }) });

const create = createRoute({
  method: "post",
  path: "/v1/webhooks",
  tags: ["Webhooks"],
  summary: "Register a webhook endpoint",
  description:
    "The URL must be https and must not point at a private, loopback, link-local or metadata address. The response carries the endpoint's signing secret; it is not shown again.",
  security: apiKeySecurity,
  request: {
    body: {
      content: {
        "application/json": {
          schema: z.object({
            url: z.string().openapi({ example: "https://example.com/hooks/docconv" }),
            events: z
              .array(EventType)
              .min(1)
              .optional()
              .openapi({ description: "the events to send; all of them when omitted" }),
            description: z.string().max(256).optional(),
          }),
        },
      },
      required: true,
    },
  },
  responses: {
    201: { description: "registered", content: { "application/json": { schema: CreatedEndpointSchema } } },
    ...errorResponses(400, 401, 409),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/webhooks",
  tags: ["Webhooks"],
  summary: "List the account's webhook endpoints (without secrets)",
  security: apiKeySecurity,
  responses: {
    200: {
      description: "the endpoints",
      content: {
        "application/json": { schema: z.object({ data: z.array(EndpointSchema) }).openapi("WebhookEndpointList") },
      },
    },
    ...errorResponses(401),
  },
});

const remove = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  tags: ["Webhooks"],
  summary: "Delete a webhook endpoint",
  description: "Its pending deliveries stop; its delivery history stays listed.",
  security: apiKeySecurity,
  request: { params: IdParam("whk_3kT9pQ2mZx8vB1nC4dE5") },
  responses: { 204: { description: "deleted" }, ...errorResponses(401, 404) },
});

const getSecret = createRoute({
  method: "get",
  path: "/v1/webhooks/signing-secret",
  tags: ["Webhooks"],
  summary: "The account's signing secret for jobs' own webhookUrl",
  description:
    "Events sent to a `webhookUrl` given with a job are signed with this secret (registered endpoints use their own). Only reads: before the secret exists (POST /v1/webhooks/signing-secret, or the first event sent to a job's `webhookUrl`) → 404 `webhooks.secret_not_found`.",
  security: apiKeySecurity,
  responses: {
    200: { description: "the secret", content: { "application/json": { schema: SigningSecretSchema } } },
    ...errorResponses(401, 404),
  },
});

const createSecret = createRoute({
  method: "post",
  path: "/v1/webhooks/signing-secret",
  tags: ["Webhooks"],
  summary: "Create the account's signing secret",
  description:
    "Makes the secret that signs events sent to jobs' own `webhookUrl` → 201. When the account already has one it is kept and returned → 200 (replace it with `/rotate`).",
  security: apiKeySecurity,
  responses: {
    201: { description: "created", content: { "application/json": { schema: SigningSecretSchema } } },
    200: {
      description: "the account already had one: that secret",
      content: { "application/json": { schema: SigningSecretSchema } },
    },
    ...errorResponses(401),
  },
});

const rotateSecret = createRoute({
  method: "post",
  path: "/v1/webhooks/signing-secret/rotate",
  tags: ["Webhooks"],
  summary: "Replace the account's signing secret",
  description: "Every later attempt, retries of earlier events included, is signed with the new secret.",
  security: apiKeySecurity,
  responses: {
    200: { description: "the new secret", content: { "application/json": { schema: SigningSecretSchema } } },
    ...errorResponses(401),
  },
});

const deliveries = createRoute({
  method: "get",
  path: "/v1/webhooks/deliveries",
  tags: ["Webhooks"],
  summary: "List webhook deliveries with their attempts, newest first",
  security: apiKeySecurity,
  request: {
    query: z.object({
      jobId: z.string().optional().openapi({ description: "only this job's deliveries" }),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().optional().openapi({ description: "`next_cursor` of the previous page" }),
    }),
  },
  responses: {
    200: {
      description: "a page of deliveries",
      content: {
        "application/json": {
          schema: z
            .object({ data: z.array(DeliverySchema), has_more: z.boolean(), next_cursor: z.string().nullable() })
            .openapi("WebhookDeliveryList"),
        },
      },
    },
    ...errorResponses(400, 401),
  },
});

const getDelivery = createRoute({
  method: "get",
  path: "/v1/webhooks/deliveries/{id}",
  tags: ["Webhooks"],
  summary: "A webhook delivery with its attempts",
  security: apiKeySecurity,
  request: { params: IdParam("dlv_…") },
  responses: {
    200: { description: "the delivery", content: { "application/json": { schema: DeliverySchema } } },
    ...errorResponses(401, 404),
  },
});

const redeliverRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/deliveries/{id}/redeliver",
  tags: ["Webhooks"],
  summary: "Send a delivery again",
  description:
    "Starts a new attempt sequence (the full retry schedule) with the same event id. A delivery still retrying → 409 `deliveries.pending`; one whose endpoint was deleted or disabled → 409 `deliveries.endpoint_unavailable`.",
  security: apiKeySecurity,
  request: { params: IdParam("dlv_…") },
  responses: {
    202: { description: "queued again", content: { "application/json": { schema: DeliverySchema } } },
    ...errorResponses(401, 404, 409),
  },
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function endpointView(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as (typeof WEBHOOK_EVENT_TYPES)[number][],
    description: row.description,
    createdAt: iso(row.createdAt)!,
    disabledAt: iso(row.disabledAt),
  };
}

function deliveryView({ delivery: row, attempts }: DeliveryWithAttempts) {
  return {
    id: row.id,
    eventId: row.eventId,
    eventType: row.eventType as (typeof WEBHOOK_EVENT_TYPES)[number],
    jobId: row.jobId,
    endpointId: row.endpointId,
    url: row.url,
    status: row.status,
    attemptCount: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    nextAttemptAt: iso(row.nextAttemptAt),
    createdAt: iso(row.createdAt)!,
    deliveredAt: iso(row.deliveredAt),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      at: iso(a.at)!,
      statusCode: a.statusCode,
      latencyMs: a.latencyMs,
      error: a.error,
    })),
  };
}

// Cursor: the last row's `<createdAt>.<id>`.
const CURSOR = /^(\d{1,16})\.(dlv_[0-9A-Za-z]{1,64})$/;

export const webhooksRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(create, async (c) => {
    const row = await registerEndpoint(c.var.svc, c.var.caller.accountId, c.req.valid("json"));
    c.header("Location", `/v1/webhooks/${row.id}`);
    return c.json({ ...endpointView(row), secret: row.secret }, 201);
  })
  .openapi(list, async (c) => {
    const rows = await endpointsOf(c.var.svc, c.var.caller.accountId);
    return c.json({ data: rows.map(endpointView) }, 200);
  })
  .openapi(getSecret, async (c) => c.json({ secret: await signingSecretOf(c.var.svc, c.var.caller.accountId) }, 200))
  .openapi(createSecret, async (c) => {
    const { secret, created } = await createSigningSecret(c.var.svc, c.var.caller.accountId);
    return created ? c.json({ secret }, 201) : c.json({ secret }, 200);
  })
  .openapi(rotateSecret, async (c) =>
    c.json({ secret: await rotateSigningSecret(c.var.svc, c.var.caller.accountId) }, 200),
  )
  .openapi(deliveries, async (c) => {
    const q = c.req.valid("query");
    let before: { createdAt: number; id: string } | undefined;
    if (q.cursor) {
      const m = CURSOR.exec(q.cursor);
      if (!m) throw new ApiError("request.invalid", "cursor is not valid");
      before = { createdAt: Number(m[1]), id: m[2]! };
    }
    const { page, hasMore } = await deliveriesPage(c.var.svc, c.var.caller.accountId, {
      jobId: q.jobId,
      limit: q.limit,
      before,
    });
    const last = page[page.length - 1]?.delivery;
    return c.json(
      {
        data: page.map(deliveryView),
        has_more: hasMore,
        next_cursor: hasMore && last ? `${last.createdAt}.${last.id}` : null,
      },
      200,
    );
  })
  .openapi(getDelivery, async (c) =>
    c.json(deliveryView(await visibleDelivery(c.var.svc, c.var.caller, c.req.valid("param").id)), 200),
  )
  .openapi(redeliverRoute, async (c) =>
    c.json(deliveryView(await redeliver(c.var.svc, c.var.caller, c.req.valid("param").id)), 202),
  )
  .openapi(remove, async (c) => {
    await removeEndpoint(c.var.svc, c.var.caller, c.req.valid("param").id);
    return c.body(null, 204);
  });

// The event itself, documented as an OpenAPI 3.1 webhook.
webhooksRoutes.openAPIRegistry.registerWebhook({
  method: "post",
  path: "job.ended",
  tags: ["Webhooks"],
  summary: "job.succeeded, job.failed, job.canceled",
  description:
    "POSTed to a job's `webhookUrl` and to every registered endpoint whose `events` include the type. Verify `Docconv-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256 of `<t>.<raw body>` keyed with the secret, and reject timestamps older than 5 minutes. Answer 2xx within 10 s; anything else is retried with backoff (9 attempts over about a day); 410 Gone disables a registered endpoint.",
  request: {
    headers: z.object({
      "Docconv-Signature": z.string().openapi({ example: "t=1767225600,v1=5f8e…" }),
      "Docconv-Event-Id": z.string().openapi({ example: "evt_…" }),
      "Docconv-Delivery-Id": z.string().openapi({ example: "dlv_…" }),
      "Docconv-Timestamp": z.string().openapi({ example: "1767225600" }),
    }),
    body: { content: { "application/json": { schema: WebhookEventSchema } } },
  },
  responses: { 200: { description: "any 2xx acknowledges the event" } },
});
