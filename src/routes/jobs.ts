// /v1/convert/job…: a job's status, its output, cancellation, and the key's job list.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import {
  cancelVisibleJob,
  JOB_STATUSES,
  jobStatusResponse,
  jobsPage,
  serveJobOutput,
  visibleJob,
} from "../domain/jobs";
import { ApiError, validationHook } from "../errors";
import { isUuidV7 } from "../ids";
import { apiKeySecurity, errorResponses, JobStatusResponseSchema } from "../schemas";

const JobParams = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f" }),
});

const status = createRoute({
  method: "get",
  path: "/v1/convert/job/{id}",
  tags: ["Jobs"],
  summary: "Get a job's status",
  security: apiKeySecurity,
  request: { params: JobParams },
  responses: {
    200: { description: "the job", content: { "application/json": { schema: JobStatusResponseSchema } } },
    ...errorResponses(401, 404),
  },
});

const download = createRoute({
  method: "get",
  path: "/v1/convert/job/{id}/download",
  tags: ["Jobs"],
  summary: "Download a job's output",
  description:
    "Streams the output (a ZIP when the job produced several files). Supports HEAD, `Range` (one byte range → 206; past the end → 416 `download.range_not_satisfiable` with `Content-Range: bytes */<size>`; invalid or several ranges → 200 with the whole file; `If-Range`) and the validators `ETag`/`Last-Modified`: a matching `If-None-Match`/`If-Modified-Since` → 304, a failing `If-Match`/`If-Unmodified-Since` → 412 `download.precondition_failed`; malformed validators are ignored (RFC 9110).",
  security: apiKeySecurity,
  request: { params: JobParams },
  responses: {
    200: {
      description: "the output",
      content: { "application/octet-stream": { schema: z.any().openapi({ type: "string", format: "binary" }) } },
    },
    206: { description: "partial content" },
    304: { description: "not modified" },
    ...errorResponses(401, 404, 409, 410, 412, 416),
  },
});

const cancel = createRoute({
  method: "post",
  path: "/v1/convert/job/{id}/cancel",
  tags: ["Jobs"],
  summary: "Cancel a job",
  description:
    "A Queued or Running job is Canceled at once and its credits refunded; a Running job's result is discarded. A finished job → 409.",
  security: apiKeySecurity,
  request: { params: JobParams },
  responses: {
    200: { description: "canceled", content: { "application/json": { schema: JobStatusResponseSchema } } },
    ...errorResponses(401, 404, 409),
  },
});

const list = createRoute({
  method: "get",
  path: "/v1/convert/jobs",
  tags: ["Jobs"],
  summary: "List the key's jobs, newest first",
  security: apiKeySecurity,
  request: {
    query: z.object({
      status: z.enum(JOB_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().optional().openapi({ description: "`next_cursor` of the previous page" }),
    }),
  },
  responses: {
    200: {
      description: "a page of jobs",
      content: {
        "application/json": {
          schema: z
            .object({
              data: z.array(JobStatusResponseSchema),
              has_more: z.boolean(),
              next_cursor: z.string().nullable(),
            })
            .openapi("JobList"),
        },
      },
    },
    ...errorResponses(400, 401),
  },
});

export const jobsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(status, async (c) => {
    const job = await visibleJob(c.var.svc, c.var.caller, c.req.valid("param").id);
    return c.json(await jobStatusResponse(c.env, job, new URL(c.req.url).origin), 200);
  })
  .openapi(download, async (c) => {
    const job = await visibleJob(c.var.svc, c.var.caller, c.req.valid("param").id);
    return serveJobOutput(c.var.svc, job, c.req.raw);
  })
  .openapi(cancel, async (c) => {
    const job = await visibleJob(c.var.svc, c.var.caller, c.req.valid("param").id);
    const after = await cancelVisibleJob(c.var.svc, job);
    return c.json(await jobStatusResponse(c.env, after, new URL(c.req.url).origin), 200);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    if (q.cursor && !isUuidV7(q.cursor)) throw new ApiError("request.invalid", "cursor is not valid");
    const { page, hasMore } = await jobsPage(c.var.svc, c.var.caller.accountId, {
      status: q.status,
      limit: q.limit,
      before: q.cursor,
    });
    const origin = new URL(c.req.url).origin;
    return c.json(
      {
        data: await Promise.all(page.map((j) => jobStatusResponse(c.env, j, origin))),
        has_more: hasMore,
        next_cursor: hasMore ? page[page.length - 1]!.id : null,
      },
      200,
    );
  });
