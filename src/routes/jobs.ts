// /v1/convert/job…: a job's status, its output, cancellation, and the key's job list.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { ownedOr404 } from "../auth/scope";
import { findJob, listJobs, type JobRow } from "../db/jobs";
import { JOB_STATUSES } from "../db/schema";
import { ApiError, validationHook } from "../errors";
import { cancelJob, hasLiveOutput, jobStatusResponse } from "../domain/jobs";
import { isUuidV7 } from "../ids";
import { serveObject } from "../storage/r2";
import { apiKeySecurity, errorResponses, JobStatusResponseSchema } from "../schemas";
import type { Db } from "../db/client";
import type { Caller } from "../auth/scope";

const JobParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, example: "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f" }) });

async function visibleJob(db: Db, caller: Caller, id: string): Promise<JobRow> {
  const job = isUuidV7(id) ? await findJob(db, id) : undefined;
  return ownedOr404(job, caller, "jobs.not_found", "job");
}

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
  description: "Streams the output (a ZIP when the job produced several files). Supports HEAD, `Range` (one byte range → 206; past the end → 416 `download.range_not_satisfiable` with `Content-Range: bytes */<size>`; invalid or several ranges → 200 with the whole file; `If-Range`) and the validators `ETag`/`Last-Modified`: a matching `If-None-Match`/`If-Modified-Since` → 304, a failing `If-Match`/`If-Unmodified-Since` → 412 `download.precondition_failed`; malformed validators are ignored (RFC 9110).",
  security: apiKeySecurity,
  request: { params: JobParams },
  responses: {
    200: { description: "the output", content: { "application/octet-stream": { schema: z.any().openapi({ type: "string", format: "binary" }) } } },
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
  description: "A Queued or Running job is Canceled at once and its credits refunded; a Running job's result is discarded. A finished job → 409.",
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
          schema: z.object({ data: z.array(JobStatusResponseSchema), has_more: z.boolean(), next_cursor: z.string().nullable() }).openapi("JobList"),
        },
      },
    },
    ...errorResponses(400, 401),
  },
});

export const jobsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(status, async (c) => {
    const job = await visibleJob(c.var.db, c.var.caller, c.req.valid("param").id);
    return c.json(await jobStatusResponse(c.env, job, new URL(c.req.url).origin), 200);
  })
  .openapi(download, async (c) => {
    const job = await visibleJob(c.var.db, c.var.caller, c.req.valid("param").id);
    if (job.status !== "Succeeded") {
      throw new ApiError("jobs.not_finished", `the job is ${job.status}; its output can be downloaded once it has Succeeded`, { status: job.status });
    }
    if (!hasLiveOutput(job)) throw new ApiError("jobs.output_expired", "the job's output has expired and was deleted");
    const response = await serveObject(c.env.BUCKET, job.outputKey!, c.req.raw, job.outputFileName!, job.outputContentType!);
    if (!response) throw new ApiError("jobs.output_expired", "the job's output is no longer stored");
    return response as never;
  })
  .openapi(cancel, async (c) => {
    const job = await visibleJob(c.var.db, c.var.caller, c.req.valid("param").id);
    const svc = { env: c.env, db: c.var.db, d1: c.env.DB };
    if (!(await cancelJob(svc, job))) {
      const now = (await findJob(c.var.db, job.id))!;
      throw new ApiError("jobs.already_finished", `the job is already ${now.status}`, { status: now.status });
    }
    const after = (await findJob(c.var.db, job.id))!;
    return c.json(await jobStatusResponse(c.env, after, new URL(c.req.url).origin), 200);
  })
  .openapi(list, async (c) => {
    const q = c.req.valid("query");
    if (q.cursor && !isUuidV7(q.cursor)) throw new ApiError("request.invalid", "cursor is not valid");
    const rows = await listJobs(c.var.db, c.var.caller.accountId, { status: q.status, limit: q.limit + 1, before: q.cursor });
    const page = rows.slice(0, q.limit);
    const origin = new URL(c.req.url).origin;
    return c.json(
      {
        data: await Promise.all(page.map((j) => jobStatusResponse(c.env, j, origin))),
        has_more: rows.length > q.limit,
        next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null,
      },
      200,
    );
  });
