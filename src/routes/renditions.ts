// The one handler behind POST /v1/files/{file_id}/convert and POST /v1/runs/{run_id}/export: the request's
// format and options (`?sheet=` merged), the wait, the bookmark; the answer's headers and its 202 when the wait
// ran out. Each route shapes only its 200 body.
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
  if (outcome.state === "pending") return c.json(pendingBody(outcome), 202, headers);
  return c.json(readyBody(outcome), 200, headers);
}
