// Errors the client throws. An API error carries the server's envelope, in either family's vocabulary:
// `code` is always the dotted `<area>.<code>` (e.g. `credits.insufficient`) and `type` its class
// (`payment_required`), whether the job API answered ({error: code, type}) or /v1/files*, /v1/runs* did
// ({error: class, code}, seed 000). `detail` is the sentence for people.
import type { ErrorEnvelope, FilesErrorEnvelope, JobStatus } from "./types.ts";

export class DocconvError extends Error {
  /** HTTP status; 0 when no response came (network error, timeout). */
  readonly status: number;
  /** The dotted code (`files.not_found`), or a `client.*` code for failures on this side. */
  readonly code: string;
  /** The code's class (`not_found`). */
  readonly type: string;
  readonly detail: string;
  /** The whole envelope as received, context fields included (e.g. `supportedTargets`, `required`). */
  readonly body: ErrorEnvelope | FilesErrorEnvelope;
  /** Seconds from a Retry-After header (429), else null. */
  readonly retryAfter: number | null;

  constructor(
    status: number,
    body: ErrorEnvelope | FilesErrorEnvelope,
    retryAfter: number | null = null,
    options?: { cause?: unknown },
  ) {
    const { code, type } = codeAndClass(body);
    super(`${code}${status ? ` (${status})` : ""}: ${body.detail}`, options);
    this.name = "DocconvError";
    this.status = status;
    this.code = code;
    this.type = type;
    this.detail = body.detail;
    this.body = body;
    this.retryAfter = retryAfter;
  }

  /** Builds the error from a non-2xx response; a body that is not the envelope still gives a useful error. */
  static async fromResponse(res: Response): Promise<DocconvError> {
    const text = await res.text().catch(() => "");
    let body: ErrorEnvelope | FilesErrorEnvelope;
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      if (typeof parsed.error !== "string") throw new Error("not the envelope");
      const detail = String(parsed.detail ?? parsed.message ?? res.statusText);
      body =
        typeof parsed.code === "string"
          ? { ...parsed, error: parsed.error, code: parsed.code, detail, message: String(parsed.message ?? detail) }
          : { ...parsed, error: parsed.error, type: String(parsed.type ?? "unknown"), detail };
    } catch {
      body = {
        error: "client.unexpected_response",
        type: "unexpected_response",
        detail: `HTTP ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ""}`,
      };
    }
    const retryAfter = Number(res.headers.get("retry-after"));
    return new DocconvError(res.status, body, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
  }

  static client(code: string, detail: string, cause?: unknown): DocconvError {
    return new DocconvError(
      0,
      { error: `client.${code}`, type: code, detail },
      null,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** Seed 000's envelope carries the code in `code` and the class in `error`; the job API's the other way round. */
function codeAndClass(body: ErrorEnvelope | FilesErrorEnvelope): { code: string; type: string } {
  if (typeof body.code === "string") return { code: body.code, type: body.error };
  return { code: body.error, type: String(body.type) };
}

/** A job that ended Failed or Canceled while being waited for. */
export class JobFailedError extends DocconvError {
  readonly job: JobStatus;
  constructor(job: JobStatus) {
    const code = job.status === "Canceled" ? "jobs.canceled" : (job.error?.code ?? "convert.failed");
    super(0, {
      error: code,
      type: job.status === "Canceled" ? "canceled" : "job_failed",
      detail: job.error?.detail ?? `the job ended ${job.status}`,
    });
    this.name = "JobFailedError";
    this.job = job;
  }
}
