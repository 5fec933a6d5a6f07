// The one handler behind POST /v1/files/{file_id}/convert and POST /v1/runs/{run_id}/export: the request's
// format and options (`?sheet=` merged), the wait, the bookmark; the answer's headers, and when the wait ran out
// its 202 (a `wait` was sent) or 502 `convert.still_running` (none was). Each route shapes only its 200 body.
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { ConvertOptions } from "../converter/client";
import { queryOrBody } from "../domain/conversions";
import {
  BOOKMARK_HEADER,
  pendingBody,
  type ReadyRendition,
  type RenditionSource,
  renditionFor,
  renditionHeaders,
  stillRunning,
  waitMsFor,
} from "../domain/renditions";

export async function renditionAnswer<Body>(
  c: Context<AppEnv>,
  source: RenditionSource,
  input: ConvertOptions & { format: string; wait?: number },
  query: { sheet?: string },
  readyBody: (ready: ReadyRendition) => Body,
) {
  const { format, wait, ...options } = input;
  options.sheet = queryOrBody("sheet", query.sheet, options.sheet);
  const outcome = await renditionFor({
    svc: c.var.svc,
    caller: c.var.caller,
    source,
    format,
    options,
    waitMs: waitMsFor(c.env, wait),
    bookmark: c.req.header(BOOKMARK_HEADER),
  });
  const headers = renditionHeaders(outcome);
  if (outcome.state === "pending") {
    // 202 is our extension, for callers that chose how long to wait; seed 000's blocking call knows only 200
    // and its error table, where a retry of a 502 `upstream_error` is the documented way on.
    if (wait === undefined) throw stillRunning(outcome, headers);
    return c.json(pendingBody(outcome), 202, headers);
  }
  return c.json(readyBody(outcome), 200, headers);
}
