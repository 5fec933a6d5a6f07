// DocconvClient: a typed client of the docconv API over plain fetch. No Worker-only imports: it runs in
// Node 22 (also as TypeScript through type stripping, hence the `.ts` imports), in browsers and in Workers.
//
//   const docconv = new DocconvClient({ baseUrl: "http://127.0.0.1:8787", apiKey: process.env.DOCCONV_API_KEY });
//   const job = await docconv.convert({ file: await openAsBlob("report.docx"), filename: "report.docx", targetFormat: "pdf" });
//   await docconv.waitForJob(job.id, { onPhase: (j) => console.log(j.progress.phase) });
//   const { body, fileName } = await docconv.downloadJob(job.id);
import { DocconvError, JobFailedError } from "./errors.ts";
import { type FilePart, streamedForm, type UploadProgress } from "./multipart.ts";
import type {
  BatchAccepted,
  Catalog,
  ConverterStatus,
  ConvertOptions,
  Entitlements,
  Estimate,
  FileRecord,
  FileRendition,
  Health,
  JobAccepted,
  JobReplay,
  JobState,
  JobStatus,
  Page,
  RenditionPending,
  RenditionRequest,
  RunExport,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointCreated,
  WebhookEventType,
} from "./types.ts";
import { FINISHED_STATES } from "./types.ts";

// Renditions wait as long as the server lets them (it clamps `wait` to RENDITION_WAIT_SECONDS). Sending `wait`
// is what asks for a 202 (RenditionPending) when the wait runs out; without it the server answers seed 000's
// 502 `convert.still_running`.
const UNTIL_SERVER_WAIT = { wait: 3600 } as const;

export { DocconvError, JobFailedError } from "./errors.ts";
export type { UploadProgress } from "./multipart.ts";
export type * from "./types.ts";
export { FINISHED_STATES } from "./types.ts";

export interface DocconvClientOptions {
  /** The server root, e.g. `http://127.0.0.1:8787` or `https://docconv.example.com`. */
  baseUrl: string;
  /** `sk_live_…` or `sk_test_…`; sent as X-API-Key. Public endpoints work without it. */
  apiKey?: string;
  /** Another fetch (tests, proxies, a Worker's service binding). */
  fetch?: typeof fetch;
}

/** A document to send: a Blob (in Node, `await fs.openAsBlob(path)` streams from disk) and its file name. */
export interface Upload {
  file: Blob;
  /** Defaults to the File's name; the server detects the format from the bytes and this name. */
  filename?: string;
}

export interface ConvertRequest extends ConvertOptions {
  /** The document, or `fileId` of an uploaded file. */
  file?: Blob;
  filename?: string;
  fileId?: string;
  targetFormat: string;
  webhookUrl?: string;
  webhookMetadata?: string;
  /** Makes retries safe: the same key and request return the same job without a second charge. */
  idempotencyKey?: string;
  onUploadProgress?: UploadProgress;
}

export interface BatchRequest extends ConvertOptions {
  files?: Upload[];
  fileIds?: string[];
  targetFormat: string;
  webhookUrl?: string;
  webhookMetadata?: string;
  /** Makes retries safe: the same key and batch return the same jobs without a second charge. */
  idempotencyKey?: string;
  onUploadProgress?: UploadProgress;
}

export interface WaitOptions {
  /** Called with the job whenever its status or phase changes (and once at the start). */
  onPhase?: (job: JobStatus) => void;
  /** First poll interval; it grows to `maxIntervalMs`. */
  intervalMs?: number;
  maxIntervalMs?: number;
  /** Give up after this long (default 10 minutes): DocconvError `client.timeout`. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Default true: a Failed or Canceled job throws JobFailedError; false returns it. */
  throwOnFailure?: boolean;
}

export interface Download {
  /** The output's name from Content-Disposition (a ZIP for multi-file outputs). */
  fileName: string;
  contentType: string;
  /** Content-Length, when the server sent it. */
  bytes: number | null;
  body: ReadableStream<Uint8Array>;
}

type Query = Record<string, string | number | undefined | null>;

interface RequestInitLike {
  query?: Query;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Extra statuses that are answers, not errors (e.g. 503 of /health). */
  accept?: number[];
}

export class DocconvClient {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(options: DocconvClientOptions) {
    if (!options.baseUrl) throw new TypeError("DocconvClient: baseUrl is required, e.g. http://127.0.0.1:8787");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  // ---- service -------------------------------------------------------------------------------------

  /** GET /health (no key): the API and its database; `status` is "degraded" (HTTP 503) while D1 does not answer. */
  async health(): Promise<Health> {
    return (await this.#request("GET", "/health", { accept: [503] })).json() as Promise<Health>;
  }

  /** GET /v1/converter: the converter's containers and, for running ones, their instances and queue. */
  async converterStatus(): Promise<ConverterStatus> {
    return this.#json("GET", "/v1/converter");
  }

  /** GET /v1/openapi.json: the OpenAPI 3.1 document. */
  async openapi(): Promise<Record<string, unknown>> {
    return this.#json("GET", "/v1/openapi.json");
  }

  // ---- files ---------------------------------------------------------------------------------------

  /** POST /v1/files: stores a document; `onProgress` reports the bytes sent. */
  async uploadFile(
    file: Blob,
    options: { filename?: string; purpose?: string; onProgress?: UploadProgress } = {},
  ): Promise<FileRecord> {
    const fields: [string, string][] = options.purpose ? [["purpose", options.purpose]] : [];
    return this.#multipart(
      "/v1/files",
      fields,
      [{ field: "file", blob: file, filename: nameOf(file, options.filename) }],
      options.onProgress,
    );
  }

  /** GET /v1/files/{file_id} */
  async getFile(fileId: string): Promise<FileRecord> {
    return this.#json("GET", `/v1/files/${enc(fileId)}`);
  }

  /** POST /v1/files/{file_id}/convert: a cached rendition, or RenditionPending (HTTP 202) if still converting. */
  async convertFile(fileId: string, request: RenditionRequest): Promise<FileRendition | RenditionPending> {
    return this.#multipart(`/v1/files/${enc(fileId)}/convert`, formFields({ ...UNTIL_SERVER_WAIT, ...request }), []);
  }

  // ---- jobs ----------------------------------------------------------------------------------------

  /** POST /v1/convert: submits a job (202). Sends the document (streamed, with progress) or a `fileId`. */
  /** 202: the job admitted, or with the same `idempotencyKey` within 24 h, that job as it is now (JobReplay). */
  async convert(request: ConvertRequest): Promise<JobAccepted | JobReplay> {
    const { file, filename, onUploadProgress, idempotencyKey, ...fields } = request;
    const headers: Record<string, string> = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
    if (file) {
      return this.#multipart(
        "/v1/convert",
        formFields(fields),
        [{ field: "file", blob: file, filename: nameOf(file, filename) }],
        onUploadProgress,
        headers,
      );
    }
    if (!fields.fileId) throw new TypeError("convert: give `file` or `fileId`");
    return this.#json("POST", "/v1/convert", { json: fields, headers });
  }

  /** POST /v1/convert/batch: one job per file, all or nothing on credits. */
  async convertBatch(request: BatchRequest): Promise<BatchAccepted> {
    const { files = [], fileIds = [], onUploadProgress, idempotencyKey, ...fields } = request;
    const headers: Record<string, string> = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
    if (files.length === 0) return this.#json("POST", "/v1/convert/batch", { json: { ...fields, fileIds }, headers });
    const parts: FilePart[] = files.map((u) => ({
      field: "files",
      blob: u.file,
      filename: nameOf(u.file, u.filename),
    }));
    const form = formFields(fields);
    for (const id of fileIds) form.push(["fileIds", id]);
    return this.#multipart("/v1/convert/batch", form, parts, onUploadProgress, headers);
  }

  /** GET /v1/convert/job/{id} */
  async getJob(id: string): Promise<JobStatus> {
    return this.#json("GET", `/v1/convert/job/${enc(id)}`);
  }

  /** Polls the job until it is Succeeded, Failed or Canceled, reporting each phase change. */
  async waitForJob(id: string, options: WaitOptions = {}): Promise<JobStatus> {
    const {
      onPhase,
      intervalMs = 300,
      maxIntervalMs = 2000,
      timeoutMs = 10 * 60_000,
      signal,
      throwOnFailure = true,
    } = options;
    const deadline = Date.now() + timeoutMs;
    let interval = intervalMs;
    let last = "";
    for (;;) {
      signal?.throwIfAborted();
      const job = await this.getJob(id);
      const now = `${job.status}/${job.progress.phase}`;
      if (now !== last) {
        last = now;
        onPhase?.(job);
      }
      if (FINISHED_STATES.includes(job.status)) {
        if (throwOnFailure && job.status !== "Succeeded") throw new JobFailedError(job);
        return job;
      }
      if (Date.now() + interval > deadline)
        throw DocconvError.client("timeout", `job ${id} still ${job.status} after ${Math.round(timeoutMs / 1000)} s`);
      await sleep(interval, signal);
      interval = Math.min(maxIntervalMs, Math.round(interval * 1.5));
    }
  }

  /** GET /v1/convert/job/{id}/download: the output as a stream with its file name. */
  async downloadJob(id: string): Promise<Download> {
    return download(await this.#request("GET", `/v1/convert/job/${enc(id)}/download`));
  }

  /** A signed `download_url` (no key needed); relative URLs resolve against baseUrl. */
  async downloadUrl(url: string): Promise<Download> {
    const res = await this.#send(new URL(url, `${this.baseUrl}/`).toString(), { method: "GET" });
    if (!res.ok) throw await DocconvError.fromResponse(res);
    return download(res);
  }

  /** POST /v1/convert/job/{id}/cancel: refunds the credits; a finished job → 409 `jobs.already_finished`. */
  async cancelJob(id: string): Promise<JobStatus> {
    return this.#json("POST", `/v1/convert/job/${enc(id)}/cancel`);
  }

  /** GET /v1/convert/jobs: one page, newest first. */
  async listJobs(query: { status?: JobState; limit?: number; cursor?: string } = {}): Promise<Page<JobStatus>> {
    return this.#json("GET", "/v1/convert/jobs", { query });
  }

  /** Every job of the key, page after page. */
  async *jobs(query: { status?: JobState; pageSize?: number } = {}): AsyncGenerator<JobStatus> {
    let cursor: string | undefined;
    do {
      const page = await this.listJobs({ status: query.status, limit: query.pageSize ?? 100, cursor });
      yield* page.data;
      cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
    } while (cursor);
  }

  // ---- catalog and credits -------------------------------------------------------------------------

  /** GET /v1/convert/conversions: every conversion with its price and limits (public). */
  async catalog(): Promise<Catalog> {
    return this.#json("GET", "/v1/convert/conversions");
  }

  /** GET /v1/convert/estimate/{from}/{to}: what a conversion would cost (public). */
  async estimate(
    from: string,
    to: string,
    query: { bytes?: number; pages?: number; pdfa?: "1b" | "2b" | "3b" } = {},
  ): Promise<Estimate> {
    return this.#json("GET", `/v1/convert/estimate/${enc(from)}/${enc(to)}`, { query });
  }

  /** GET /v1/convert/entitlements/me: plan, credit balance, daily limit. */
  async entitlements(): Promise<Entitlements> {
    return this.#json("GET", "/v1/convert/entitlements/me");
  }

  // ---- runs ----------------------------------------------------------------------------------------

  /** POST /v1/runs/{run_id}/export: a finished job's output in another format (cached). */
  async exportRun(runId: string, request: RenditionRequest): Promise<RunExport | RenditionPending> {
    return this.#json("POST", `/v1/runs/${enc(runId)}/export`, { json: { ...UNTIL_SERVER_WAIT, ...request } });
  }

  // ---- webhooks ------------------------------------------------------------------------------------

  /** POST /v1/webhooks: the response carries the endpoint's signing secret, shown only once. */
  async createWebhook(request: {
    url: string;
    events?: WebhookEventType[];
    description?: string;
  }): Promise<WebhookEndpointCreated> {
    return this.#json("POST", "/v1/webhooks", { json: request });
  }

  async listWebhooks(): Promise<WebhookEndpoint[]> {
    return (await this.#json<{ data: WebhookEndpoint[] }>("GET", "/v1/webhooks")).data;
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.#request("DELETE", `/v1/webhooks/${enc(id)}`);
  }

  /** Creates the secret that signs events sent to jobs' own `webhookUrl`; an existing one is kept and returned. */
  async createWebhookSigningSecret(): Promise<string> {
    return (await this.#json<{ secret: string }>("POST", "/v1/webhooks/signing-secret")).secret;
  }

  /** The secret that signs events sent to jobs' own `webhookUrl`: `webhooks.secret_not_found` before it is created. */
  async webhookSigningSecret(): Promise<string> {
    return (await this.#json<{ secret: string }>("GET", "/v1/webhooks/signing-secret")).secret;
  }

  async rotateWebhookSigningSecret(): Promise<string> {
    return (await this.#json<{ secret: string }>("POST", "/v1/webhooks/signing-secret/rotate")).secret;
  }

  async listWebhookDeliveries(
    query: { jobId?: string; limit?: number; cursor?: string } = {},
  ): Promise<Page<WebhookDelivery>> {
    return this.#json("GET", "/v1/webhooks/deliveries", { query });
  }

  async getWebhookDelivery(id: string): Promise<WebhookDelivery> {
    return this.#json("GET", `/v1/webhooks/deliveries/${enc(id)}`);
  }

  async redeliverWebhook(id: string): Promise<WebhookDelivery> {
    return this.#json("POST", `/v1/webhooks/deliveries/${enc(id)}/redeliver`);
  }

  // ---- transport -----------------------------------------------------------------------------------

  async #json<T>(method: string, path: string, init: RequestInitLike = {}): Promise<T> {
    return (await this.#request(method, path, init)).json() as Promise<T>;
  }

  async #multipart<T>(
    path: string,
    fields: [string, string][],
    files: FilePart[],
    onProgress?: UploadProgress,
    headers: Record<string, string> = {},
  ): Promise<T> {
    if (!onProgress) {
      // Plain FormData works everywhere; a streamed body needs HTTP/2 in browsers, so only progress uses it.
      const form = new FormData();
      for (const [name, value] of fields) form.append(name, value);
      for (const file of files) form.append(file.field, file.blob, file.filename);
      return (await this.#request("POST", path, { body: form, headers })).json() as Promise<T>;
    }
    const form = streamedForm(fields, files, onProgress);
    const init = {
      body: form.body,
      headers: { ...headers, "Content-Type": form.contentType, "Content-Length": String(form.length) },
    };
    return (await this.#request("POST", path, init)).json() as Promise<T>;
  }

  async #request(method: string, path: string, init: RequestInitLike = {}): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(init.query ?? {}))
      if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: "application/json", ...init.headers };
    if (this.#apiKey) headers["X-API-Key"] = this.#apiKey;
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers["Content-Type"] = "application/json";
    }
    // A stream body needs duplex "half" (Node's fetch); Content-Length still travels, so no chunking.
    const streaming = typeof ReadableStream !== "undefined" && body instanceof ReadableStream;
    const res = await this.#send(url.toString(), {
      method,
      headers,
      body,
      ...(streaming ? { duplex: "half" } : {}),
    } as RequestInit);
    if (!res.ok && !init.accept?.includes(res.status)) throw await DocconvError.fromResponse(res);
    return res;
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(url, init);
    } catch (err) {
      if ((err as Error)?.name === "AbortError") throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (err as Error).message;
      throw DocconvError.client("network", `cannot reach ${this.baseUrl} (${reason})`, err);
    }
  }
}

const enc = encodeURIComponent;

function nameOf(file: Blob, filename?: string): string {
  const name = filename ?? (file as Blob & { name?: unknown }).name;
  return typeof name === "string" && name ? name : "document";
}

/** Form fields in the server's names; undefined options are left out. */
function formFields(fields: Record<string, string | number | boolean | string[] | undefined>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) out.push([k, item]);
    else out.push([k, String(v)]);
  }
  return out;
}

function download(res: Response): Download {
  if (!res.body) throw DocconvError.client("empty_body", "the download had no body");
  const length = res.headers.get("content-length");
  return {
    fileName: fileNameOf(res.headers.get("content-disposition")) ?? "download",
    contentType: res.headers.get("content-type") ?? "application/octet-stream",
    bytes: length === null ? null : Number(length),
    body: res.body,
  };
}

/** RFC 6266: `filename*=UTF-8''…` wins over `filename="…"`. */
export function fileNameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  const extended = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(disposition);
  if (extended?.[2]) {
    try {
      return decodeURIComponent(extended[2].trim());
    } catch {
      /* fall through to the plain name */
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(disposition);
  const name = plain?.[1]?.replace(/\\(.)/g, "$1") ?? plain?.[2]?.trim();
  return name || null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}
