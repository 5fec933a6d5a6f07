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

/** A failed conversion; `retryable` separates the converter's trouble from the document's. */
export class ConverterError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | null;
  constructor(code: string, detail: string, status: number, retryAfterSeconds: number | null = null) {
    super(detail);
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
    // 4xx/422 are the document's fault: the same input fails the same way. So is the converter's own
    // timeout (it killed LibreOffice on this document); a converter that does not answer at all is not.
    this.retryable = (status >= 500 || status === 429 || status === 0) && code !== "convert.timeout";
  }

  /** The converter (its wait queue, or the platform's instance limit) is full; nothing was attempted. */
  get overloaded(): boolean {
    return this.status === 429 || (this.status === 503 && this.code !== "convert.engine_failure");
  }
}

export function httpTransport(baseUrl: string): ConverterTransport {
  const base = baseUrl.replace(/\/$/, "");
  return (request) => {
    const url = new URL(request.url);
    return fetch(new Request(`${base}${url.pathname}${url.search}`, request));
  };
}

export function transportFor(env: Env): ConverterTransport {
  return env.CONVERTER_URL ? httpTransport(env.CONVERTER_URL) : containerTransport(env);
}

const intHeader = (h: Headers, name: string) => {
  const v = h.get(name);
  return v === null || v === "" || Number.isNaN(Number(v)) ? null : Number(v);
};

export class ConverterClient {
  private readonly transport: ConverterTransport;
  constructor(transport: ConverterTransport) {
    this.transport = transport;
  }

  async convert(req: ConvertRequest): Promise<ConvertResult> {
    const params = new URLSearchParams({ from: req.from, to: req.to, filename: req.filename });
    for (const [k, v] of Object.entries(req.options)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
    if (req.timeoutSeconds) params.set("timeout", String(req.timeoutSeconds));
    let response: Response;
    try {
      response = await this.transport(
        new Request(`http://converter/convert?${params}`, {
          method: "POST",
          body: req.body,
          // @ts-expect-error duplex is required by some runtimes for streaming request bodies
          duplex: "half",
          headers: { "content-type": "application/octet-stream", "content-length": String(req.length) },
          signal: req.requestTimeoutMs ? AbortSignal.timeout(req.requestTimeoutMs) : undefined,
        }),
      );
    } catch (err) {
      const name = (err as Error)?.name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw new ConverterError("convert.engine_failure", `the converter did not answer within ${req.requestTimeoutMs} ms`, 0);
      }
      throw new ConverterError("convert.engine_failure", `converter unreachable: ${(err as Error).message}`, 0);
    }
    if (!response.ok || !response.body) {
      let body: { error?: string; detail?: string } = {};
      try {
        body = await response.json();
      } catch {
        /* a proxy's or the platform's non-JSON error page */
      }
      const retryAfter = intHeader(response.headers, "retry-after");
      throw new ConverterError(body.error ?? "convert.engine_failure", body.detail ?? `converter answered ${response.status}`, response.status, retryAfter);
    }
    const length = intHeader(response.headers, "content-length");
    if (length === null) throw new ConverterError("convert.engine_failure", "converter response has no Content-Length", 502);
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

  async health(): Promise<{ ok: boolean; detail: unknown }> {
    try {
      const res = await this.transport(new Request("http://converter/health"));
      return { ok: res.ok, detail: await res.json().catch(() => null) };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }
}

export function converterFor(env: Env): ConverterClient {
  return new ConverterClient(transportFor(env));
}
