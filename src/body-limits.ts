// Bodies that carry fields, not documents — JSON and URL-encoded forms — are small: every route that parses
// one (Hono reads it whole) gets it only up to MAX_FIELDS_BODY_BYTES. Keyed by content type, for every route,
// so no JSON endpoint can be forgotten; a chunked body without Content-Length is counted as it is read and
// cut off at the limit. Routes whose body carries only fields whatever its media type (the rendition requests,
// multipart included) take `fieldsOnlyBodyLimit`; uploads enforce theirs while they stream (upload-form.ts).
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";

// The largest legitimate one: a job's JSON with a 2048-character webhookUrl and 4096 characters of
// webhookMetadata, every character \u-escaped, is under 40 KiB.
export const MAX_FIELDS_BODY_BYTES = 64 * 1024;

// The media types Hono's validators parse as JSON (application/json, application/*+json) or as a URL-encoded form.
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/;

function carriesFields(contentType: string | undefined): boolean {
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return JSON_MEDIA_TYPE.test(mediaType) || mediaType === "application/x-www-form-urlencoded";
}

const limitFields = bodyLimit({
  maxSize: MAX_FIELDS_BODY_BYTES,
  onError: () => {
    throw new ApiError(
      "request.too_large",
      `a JSON or form body may be at most ${MAX_FIELDS_BODY_BYTES} bytes; documents go in a multipart upload`,
      {
        maxBodyBytes: MAX_FIELDS_BODY_BYTES,
      },
    );
  },
});

export const fieldsBodyLimit = createMiddleware<AppEnv>(async (c, next) => {
  if (!carriesFields(c.req.header("content-type"))) return next();
  return limitFields(c, next);
});

/** The same limit for a route that takes no document in any media type. */
export const fieldsOnlyBodyLimit = createMiddleware<AppEnv>((c, next) => limitFields(c, next));
