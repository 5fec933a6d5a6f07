// Errors the client throws. An API error carries the server's envelope: `code` is its `error` field
// (`<area>.<code>`, e.g. `credits.insufficient`), `type` its coarse class, `detail` the sentence for people.
import type { ErrorEnvelope, JobStatus } from "./types.ts";

export class DocconvError extends Error {
  /** HTTP status; 0 when no response came (network error, timeout). */
  readonly status: number;
  /** The envelope's `error`, or a `client.*` code for failures on this side. */
  readonly code: string;
  readonly type: string;
  readonly detail: string;
  /** The whole envelope, context fields included (e.g. `supportedTargets`, `required`). */
  readonly body: ErrorEnvelope;
  /** Seconds from a Retry-After header (429), else null. */
  readonly retryAfter: number | null;

  constructor(status: number, body: ErrorEnvelope, retryAfter: number | null = null, options?: { cause?: unknown }) {
    super(`${body.error}${status ? ` (${status})` : ""}: ${body.detail}`, options);
    this.name = "DocconvError";
    this.status = status;
    this.code = body.error;
    this.type = body.type;
    this.detail = body.detail;
    this.body = body;
    this.retryAfter = retryAfter;
  }

  /** Builds the error from a non-2xx response; a body that is not the envelope still gives a useful error. */
  static async fromResponse(res: Response): Promise<DocconvError> {
    const text = await res.text().catch(() => "");
    let body: ErrorEnvelope;
    try {
      const parsed = JSON.parse(text) as Partial<ErrorEnvelope>;
      if (typeof parsed.error !== "string") throw new Error("not the envelope");
      body = { ...parsed, error: parsed.error, type: String(parsed.type ?? "unknown"), detail: String(parsed.detail ?? res.statusText) };
    } catch {
      body = { error: "client.unexpected_response", type: "unexpected_response", detail: `HTTP ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ""}` };
    }
    const retryAfter = Number(res.headers.get("retry-after"));
    return new DocconvError(res.status, body, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
  }

  static client(code: string, detail: string, cause?: unknown): DocconvError {
    return new DocconvError(0, { error: `client.${code}`, type: code, detail }, null, cause === undefined ? undefined : { cause });
  }
}

/** A job that ended Failed or Canceled while being waited for. */
export class JobFailedError extends DocconvError {
  readonly job: JobStatus;
  constructor(job: JobStatus) {
    const code = job.status === "Canceled" ? "jobs.canceled" : (job.error?.code ?? "convert.failed");
    super(0, { error: code, type: job.status === "Canceled" ? "canceled" : "job_failed", detail: job.error?.detail ?? `the job ended ${job.status}` });
    this.name = "JobFailedError";
    this.job = job;
  }
}
