// The one error envelope, in the vocabulary of the document each endpoint family implements
// (../shared/seeds): every code has one HTTP status, and its class follows from that status.
//   /v1/files*, /v1/runs* (seed 000): {"error": "<class>", "code": "<area>.<code>", "detail", "message", …context}
//   everything else (seed 003):         {"error": "<area>.<code>", "type": "<class>", "detail", …context}
// Every error a caller sees is built here, middleware failures (auth, body limits) included.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";

const CODES = {
  "request.invalid": 400,
  "request.empty_file": 400,
  "request.missing_file": 400,
  "request.invalid_filename": 400,
  "request.incomplete_body": 400,
  "request.too_large": 413,
  "request.unsupported_content_type": 415,
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
  "webhooks.secret_not_found": 404,
  "deliveries.not_found": 404,
  not_found: 404,
  "jobs.not_finished": 409,
  "jobs.already_finished": 409,
  "runs.not_succeeded": 409,
  "runs.multi_file_output": 400,
  "runs.output_expired": 410,
  "jobs.output_expired": 410,
  "convert.unsupported_format_pair": 400,
  "convert.invalid_option": 400,
  // The real page or slide count passed maxPages: at submission (counted from the file's structure) or in the
  // converter (a document that lied about its structure); the converter's code and status are the same.
  "convert.too_many_pages": 422,
  "convert.file_too_large": 413,
  "convert.zip_bomb": 422,
  // A markup document's DOCTYPE declares entities past the budget (billion laughs): container/src/detect/entities.ts.
  "convert.entity_expansion": 422,
  "convert.password_protected": 422,
  "convert.corrupt_input": 422,
  "convert.engine_crash_on_input": 422,
  // The document made the converter pass a memory, CPU time or output size cap: final, like convert.timeout.
  "convert.resource_limit": 422,
  // The converter refused the Worker's CONVERTER_SECRET: a deployment fault, an upstream error to callers.
  "convert.unauthorized": 502,
  "convert.failed": 502,
  // A rendition asked without `wait` (seed 000's blocking call) still converting after RENDITION_WAIT_SECONDS.
  "convert.still_running": 502,
  "convert.timeout": 504,
  // No converter took the job within the wait budget (busy, starting, rolling out): not the document's fault.
  "convert.unavailable": 503,
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
  upstream_error: 502,
  "upstream.unavailable": 503,
  internal_error: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof CODES;

/**
 * The class of each status, in seed 000's style: its four (invalid_request, not_found, conflict,
 * upstream_error) and, for statuses it does not list, the reason phrase in the same snake case.
 */
const CLASSES: Record<number, string> = {
  400: "invalid_request",
  401: "unauthorized",
  402: "payment_required",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  410: "gone",
  412: "precondition_failed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  416: "range_not_satisfiable",
  422: "unprocessable",
  429: "rate_limited",
  500: "internal_error",
  502: "upstream_error",
  503: "unavailable",
  504: "upstream_error",
};

export const ERROR_CLASSES = [...new Set(Object.values(CLASSES))];

export function classOf(code: ErrorCode): string {
  return CLASSES[CODES[code]] ?? "internal_error";
}

/** Every code with its HTTP status and class: the OpenAPI document and the README list them from here. */
export function errorCatalog(): { code: ErrorCode; status: number; type: string }[] {
  return (Object.keys(CODES) as ErrorCode[]).map((code) => ({ code, status: CODES[code], type: classOf(code) }));
}

export function statusOf(code: ErrorCode): ContentfulStatusCode {
  return CODES[code];
}

/** Which document's vocabulary an endpoint answers in: seed 000's (files, runs) or seed 003's (the rest). */
export type ErrorFamily = "files" | "jobs";

const FILES_FAMILY = /^\/v1\/(files|runs)(\/|$)/;

export function errorFamilyOf(path: string): ErrorFamily {
  return FILES_FAMILY.test(path) ? "files" : "jobs";
}

export function errorBody(
  code: ErrorCode,
  detail: string,
  context: Record<string, unknown> = {},
  family: ErrorFamily = "jobs",
) {
  if (family === "files") return { error: classOf(code), code, detail, message: detail, ...context };
  return { error: code, type: classOf(code), detail, ...context };
}

/** Thrown anywhere; `onError` turns it into the envelope. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;
  readonly headers: Record<string, string>;
  constructor(
    code: ErrorCode,
    detail: string,
    context: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail);
    this.code = code;
    this.context = context;
    this.headers = headers;
  }
  get status(): ContentfulStatusCode {
    return CODES[this.code];
  }
  toResponse(family: ErrorFamily): Response {
    return Response.json(errorBody(this.code, this.message, this.context, family), {
      status: this.status,
      headers: this.headers,
    });
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
    return validationError(result.error as ZodError, result.target ?? "request").toResponse(errorFamilyOf(c.req.path));
  }
  return undefined;
}

export function onError(err: Error, c: Context): Response {
  const family = errorFamilyOf(c.req.path);
  if (err instanceof ApiError) return err.toResponse(family);
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 413)
      return new ApiError("request.too_large", err.message || "request body too large").toResponse(family);
    if (status === 404) return new ApiError("not_found", err.message || "not found").toResponse(family);
    if (status === 401) return new ApiError("auth.invalid_key", err.message || "unauthorized").toResponse(family);
    if (status === 415) {
      return new ApiError(
        "request.unsupported_content_type",
        `send the body as one of the media types this endpoint documents (not ${c.req.header("content-type") ?? "none"})`,
      ).toResponse(family);
    }
    return Response.json(errorBody("request.invalid", err.message || "bad request", {}, family), { status });
  }
  console.error("unhandled error", c.req.method, c.req.path, err);
  return new ApiError("internal_error", "internal error").toResponse(family);
}

export function notFound(c: Context): Response {
  return new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`).toResponse(errorFamilyOf(c.req.path));
}
