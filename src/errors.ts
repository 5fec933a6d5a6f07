// The one error envelope: {"error": "<area>.<code>", "type": "<class>", "detail": "…", …context}.
// Every error a caller sees is built here; `type` is the coarse class a client can switch on.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";

const CODES = {
  "request.invalid": 400,
  "request.empty_file": 400,
  "request.missing_file": 400,
  "request.invalid_filename": 400,
  "request.too_large": 413,
  "request.unsupported_format": 415,
  "request.format_mismatch": 415,
  "request.idempotency_mismatch": 422,
  "auth.missing_key": 401,
  "auth.invalid_key": 401,
  "auth.revoked_key": 401,
  "auth.invalid_authorization": 401,
  "auth.conflicting_keys": 400,
  "files.not_found": 404,
  "jobs.not_found": 404,
  "runs.not_found": 404,
  "webhooks.not_found": 404,
  "deliveries.not_found": 404,
  "not_found": 404,
  "jobs.not_finished": 409,
  "jobs.already_finished": 409,
  "runs.not_succeeded": 409,
  "runs.multi_file_output": 400,
  "runs.output_expired": 410,
  "jobs.output_expired": 410,
  "convert.unsupported_format_pair": 400,
  "convert.invalid_option": 400,
  "convert.too_many_pages": 413,
  "convert.file_too_large": 413,
  "convert.zip_bomb": 422,
  "convert.password_protected": 422,
  "convert.corrupt_input": 422,
  "convert.engine_crash_on_input": 422,
  "convert.failed": 502,
  "convert.timeout": 504,
  "credits.insufficient": 402,
  "credits.daily_limit_reached": 402,
  "limits.concurrent_jobs": 429,
  "limits.batch_too_large": 413,
  "webhooks.invalid_url": 400,
  "webhooks.blocked_address": 400,
  "webhooks.limit_reached": 409,
  "deliveries.pending": 409,
  "deliveries.endpoint_unavailable": 409,
  "download.invalid_signature": 403,
  "download.expired": 403,
  "download.not_found": 404,
  "download.precondition_failed": 412,
  "download.range_not_satisfiable": 416,
  "upstream_error": 502,
  "upstream.unavailable": 503,
  "internal_error": 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof CODES;

const TYPES: Record<number, string> = {
  400: "invalid_request",
  401: "authentication_error",
  402: "payment_required",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  410: "gone",
  413: "payload_too_large",
  412: "invalid_request",
  415: "invalid_request",
  416: "invalid_request",
  422: "invalid_request",
  429: "rate_limited",
  502: "upstream_error",
  503: "unavailable",
  504: "upstream_error",
};

/** Every code with its HTTP status and `type`: the OpenAPI document and the client list them from here. */
export function errorCatalog(): { code: ErrorCode; status: number; type: string }[] {
  return (Object.keys(CODES) as ErrorCode[]).map((code) => ({ code, status: CODES[code], type: TYPES[CODES[code]] ?? "internal_error" }));
}

export function statusOf(code: ErrorCode): ContentfulStatusCode {
  return CODES[code];
}

export function errorBody(code: ErrorCode, detail: string, context: Record<string, unknown> = {}) {
  const status = CODES[code];
  return { error: code, type: TYPES[status] ?? "internal_error", detail, ...context };
}

/** Thrown anywhere; `onError` turns it into the envelope. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(code: ErrorCode, detail: string, context: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(detail);
    this.code = code;
    this.context = context;
    this.headers = headers;
  }
  get status(): ContentfulStatusCode {
    return CODES[this.code];
  }
  toResponse(): Response {
    return Response.json(errorBody(this.code, this.message, this.context), { status: this.status, headers: this.headers });
  }
}

export function validationError(error: ZodError, target: string): ApiError {
  const issues = error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = issues[0];
  const detail = first ? `${target}: ${first.path ? `${first.path}: ` : ""}${first.message}` : `invalid ${target}`;
  return new ApiError("request.invalid", detail, { issues });
}

/** The zod-openapi / zod-validator hook: validation failures use the envelope. */
export function validationHook(result: { success: boolean; error?: unknown; target?: string }, c: Context) {
  if (!result.success) {
    return validationError(result.error as ZodError, result.target ?? "request").toResponse();
  }
  return undefined;
}

export function onError(err: Error, c: Context): Response {
  if (err instanceof ApiError) return err.toResponse();
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 413) return new ApiError("request.too_large", err.message || "request body too large").toResponse();
    if (status === 404) return new ApiError("not_found", err.message || "not found").toResponse();
    if (status === 401) return new ApiError("auth.invalid_key", err.message || "unauthorized").toResponse();
    return Response.json(errorBody("request.invalid", err.message || "bad request"), { status });
  }
  console.error("unhandled error", c.req.method, c.req.path, err);
  return Response.json(errorBody("internal_error", "internal error"), { status: 500 });
}

export function notFound(c: Context): Response {
  return new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`).toResponse();
}
