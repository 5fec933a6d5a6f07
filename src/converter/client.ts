// One interface to the converter, whatever carries the request: plain fetch to CONVERTER_URL (local dev,
// tests) or the Cloudflare Container binding (production). See container/README.md for the HTTP contract.
import { containerTransport } from "./container-transport";

export type ConverterTransport = (request: Request) => Promise<Response>;

export interface ConvertOptions {
  sheet?: string;
  pages?: string;
  dpi?: number;
  quality?: number;
  pdfa?: string;
  /** The most pages or slides the converter may convert (`convert.too_many_pages` past it); set per job. */
  maxPages?: number;
  /** csv: false writes formula-like cells verbatim (the converter neutralises them by default). */
  escapeFormulas?: boolean;
}

export interface ConvertRequest {
  body: ReadableStream<Uint8Array>;
  length: number;
  from: string;
  to: string;
  filename: string;
  options: ConvertOptions;
  timeoutSeconds?: number;
  /** The whole exchange's limit: a converter that hangs past its own timeout is abandoned. */
  requestTimeoutMs?: number;
  /** Aborts the request (the job was canceled): the converter sees the connection close and stops. */
  signal?: AbortSignal;
}

export interface ConvertResult {
  body: ReadableStream<Uint8Array>;
  length: number;
  contentType: string;
  extension: string;
  fileCount: number;
  inputPages: number | null;
  outputPages: number | null;
}

/**
 * Why a conversion failed, which decides what happens to the job:
 * - `document`: the document's own fault (the converter's 4xx/422, or its own timeout): final, refunded.
 * - `fault`: the converter failed while it had the document (a crash, a 5xx of its own, no answer in time, a
 *   connection lost mid-request): retried up to MAX_CONVERSION_ATTEMPTS.
 * - `backpressure`: nothing took the document (the converter's `convert.busy`, or anything that is not the
 *   converter's own JSON envelope: the container library's plain-text 503/429, its 500 when an instance
 *   failed to start, an error of the Durable Object hop): the job waits without using an attempt.
 */
export type FailureKind = "document" | "fault" | "backpressure";

export class ConverterError extends Error {
  readonly code: string;
  readonly status: number;
  readonly kind: FailureKind;
  readonly retryAfterSeconds: number | null;
  constructor(
    code: string,
    detail: string,
    status: number,
    retryAfterSeconds: number | null = null,
    kind: FailureKind = defaultKind(code, status),
  ) {
    super(detail);
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
    this.kind = kind;
  }

  get retryable(): boolean {
    return this.kind === "fault";
  }

  /** No converter took the document: nothing was attempted. */
  get overloaded(): boolean {
    return this.kind === "backpressure";
  }
}

// 4xx are the document's fault: the same input fails the same way. So is the converter's own timeout (it
// killed LibreOffice on this document); a converter that does not answer at all is not.
function defaultKind(code: string, status: number): FailureKind {
  if (code === "convert.busy") return "backpressure";
  if (code === "convert.timeout") return "document";
  return status >= 500 || status === 429 || status === 0 ? "fault" : "document";
}

/** Thrown by a transport when the request never reached a converter (e.g. the Durable Object hop failed). */
export class ConverterUnavailable extends Error {}

/** The caller's `signal` aborted the request: nobody wants the result, which is neither a failure nor a fault. */
export class ConversionAbandoned extends Error {}

// What the container library answers when no instance started in time: plain text, never our envelope.
const START_FAILURE_PREFIX = "Failed to start container";

/** A non-2xx answer as a ConverterError: the converter's own envelope keeps its code; anything else is not ours. */
export async function converterErrorOf(response: Response): Promise<ConverterError> {
  const retryAfter = intHeader(response.headers, "retry-after");
  const text = await boundedText(response, 4096);
  const envelope = parseEnvelope(text);
  if (envelope)
    return new ConverterError(
      envelope.error,
      envelope.detail ?? `converter answered ${response.status}`,
      response.status,
      retryAfter,
    );
  const snippet = text.trim().replace(/\s+/g, " ").slice(0, 200);
  const detail = `converter answered ${response.status}${snippet ? `: ${snippet}` : ""}`;
  const backpressure =
    response.status === 503 ||
    response.status === 429 ||
    (response.status === 500 && text.startsWith(START_FAILURE_PREFIX));
  return new ConverterError(
    "convert.engine_failure",
    detail,
    response.status,
    retryAfter,
    backpressure ? "backpressure" : "fault",
  );
}

function parseEnvelope(text: string): { error: string; detail?: string } | null {
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown };
    if (typeof body?.error !== "string" || !body.error.startsWith("convert.")) return null;
    return { error: body.error, detail: typeof body.detail === "string" ? body.detail : undefined };
  } catch {
    return null;
  }
}

async function boundedText(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    /* a body cut short still tells what arrived */
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

export function httpTransport(baseUrl: string): ConverterTransport {
  const base = baseUrl.replace(/\/$/, "");
  return (request) => {
    const url = new URL(request.url);
    // The signal is passed on explicitly: aborting it must close the connection the converter works for.
    return fetch(new Request(`${base}${url.pathname}${url.search}`, request), { signal: request.signal });
  };
}

export function transportFor(env: Env): ConverterTransport {
  return env.CONVERTER_URL ? httpTransport(env.CONVERTER_URL) : containerTransport(env);
}

const intHeader = (h: Headers, name: string) => {
  const v = h.get(name);
  return v === null || v === "" || Number.isNaN(Number(v)) ? null : Number(v);
};

/** The header that carries the shared secret the converter requires on every route but GET /health. */
export const SECRET_HEADER = "x-converter-secret";

export class ConverterClient {
  private readonly transport: ConverterTransport;
  private readonly secret: string | undefined;
  constructor(transport: ConverterTransport, secret?: string) {
    this.transport = transport;
    this.secret = secret;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.secret ? { ...extra, [SECRET_HEADER]: this.secret } : extra;
  }

  async convert(req: ConvertRequest): Promise<ConvertResult> {
    const params = new URLSearchParams({ from: req.from, to: req.to, filename: req.filename });
    for (const [k, v] of Object.entries(req.options))
      if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
    if (req.timeoutSeconds) params.set("timeout", String(req.timeoutSeconds));
    const timeout = req.requestTimeoutMs ? AbortSignal.timeout(req.requestTimeoutMs) : undefined;
    const signals = [timeout, req.signal].filter((s): s is AbortSignal => s !== undefined);
    let response: Response;
    try {
      response = await this.transport(
        new Request(`http://converter/convert?${params}`, {
          method: "POST",
          body: req.body,
          // @ts-expect-error duplex is required by some runtimes for streaming request bodies
          duplex: "half",
          headers: this.headers({ "content-type": "application/octet-stream", "content-length": String(req.length) }),
          signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
        }),
      );
    } catch (err) {
      if (req.signal?.aborted)
        throw new ConversionAbandoned("the conversion was abandoned: its job is no longer running");
      const name = (err as Error)?.name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new ConverterError(
          "convert.engine_failure",
          `the converter did not answer within ${req.requestTimeoutMs} ms`,
          0,
        );
      }
      if (err instanceof ConverterUnavailable)
        throw new ConverterError(
          "convert.engine_failure",
          `converter unavailable: ${err.message}`,
          0,
          null,
          "backpressure",
        );
      throw new ConverterError("convert.engine_failure", `converter unreachable: ${(err as Error).message}`, 0);
    }
    if (!response.ok) throw await converterErrorOf(response);
    if (!response.body) throw new ConverterError("convert.engine_failure", "converter response has no body", 502);
    const length = intHeader(response.headers, "content-length");
    if (length === null)
      throw new ConverterError("convert.engine_failure", "converter response has no Content-Length", 502);
    return {
      body: response.body,
      length,
      contentType: response.headers.get("content-type") ?? "application/octet-stream",
      extension: response.headers.get("x-output-extension") ?? req.to,
      fileCount: intHeader(response.headers, "x-output-files") ?? 1,
      inputPages: intHeader(response.headers, "x-input-pages"),
      outputPages: intHeader(response.headers, "x-output-pages"),
    };
  }
}

export function converterFor(env: Env): ConverterClient {
  return new ConverterClient(transportFor(env), env.CONVERTER_SECRET);
}
