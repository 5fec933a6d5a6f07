// multipart/form-data read as a stream, for the upload endpoints (POST /v1/files, /v1/convert,
// /v1/convert/batch): text fields are collected, each file part is handed chunk by chunk to a sink (which
// stores it in R2) and the next chunk of the request is read only when the sink has taken the last one, so a
// file is never held whole. Limits are enforced as the bytes arrive: Content-Length before reading, the body's
// size while reading (413 at the byte that crosses it, without reading the rest), fields and parts by count.
// The parser is multipasta (README "Uploads"); this module adds the back-pressure and the field rules.
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as Multipart from "multipasta";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";

export interface FileSink<T> {
  write(chunk: Uint8Array): Promise<void>;
  /** The part ended: finish storing it (and judge it); the result is what the route works with. */
  close(): Promise<T>;
  /** Something failed before close(): leave nothing behind. */
  abort(): Promise<void>;
}

export interface UploadFormSpec<T> {
  /** Text fields the endpoint takes; any other name is refused. */
  fields: readonly string[];
  /** Text fields that may repeat (their values are collected in order). */
  repeatable?: readonly string[];
  /** The name of the file field, and how many file parts the endpoint takes. */
  fileField: string;
  maxFiles: number;
  /** Called when a file part past `maxFiles` begins. */
  tooManyFiles: () => ApiError;
  /** The request body's limit: Content-Length checked before reading, bytes counted while reading. */
  maxBodyBytes: number;
  tooLarge: () => ApiError;
  /** Opens the sink for the file part number `index` named `filename`. */
  openFile: (filename: string, index: number) => FileSink<T>;
  /** Undoes a file already stored, when the request fails after it. */
  discard: (stored: T) => Promise<void>;
}

export interface UploadForm<T> {
  fields: Record<string, string | string[]>;
  files: T[];
}

const MAX_PARTS = 100;
const MAX_FIELD_BYTES = 16 * 1024;
// The body is read into a few reused buffers of this size (BYOB), each filled before the parser sees it.
const READ_BYTES = 64 * 1024;
// multipasta keeps views of earlier chunks until it is done with them: the tail of a chunk that may begin a
// boundary (one write), a header line or a text field split across writes (at most 16 KiB, so at most two
// 64 KiB writes). A buffer is refilled only after three others: none of its bytes is still wanted by then.
const READ_BUFFERS = 4;
// The longest run of trailing '-' held back from the parser: see `feed`.
const DASH_HOLDBACK = 80;

type Event = { kind: "field"; name: string; value: string; isFile: false } | { kind: "start"; info: Multipart.PartInfo } | { kind: "chunk"; chunk: Uint8Array } | { kind: "end" };

/**
 * Documents `route` in the OpenAPI document like any other, but serves it with `handler` alone: zod-openapi
 * would put its form validator in front, and that reads the whole body (c.req.parseBody) before the handler.
 */
export function streamingRoute(app: OpenAPIHono<AppEnv>, route: RouteConfig, handler: (c: Context<AppEnv>) => Promise<Response>): void {
  app.openAPIRegistry.registerPath(route);
  app.on(route.method.toUpperCase(), route.path.replaceAll(/\/{(\w+)}/g, "/:$1"), handler);
}

export function isMultipart(request: Request): boolean {
  return (request.headers.get("content-type") ?? "").toLowerCase().startsWith("multipart/form-data");
}

/** Reads the whole form; on any failure, every stored file is discarded and the rest of the body is not read. */
export async function readUploadForm<T>(request: Request, spec: UploadFormSpec<T>): Promise<UploadForm<T>> {
  if (!isMultipart(request)) throw new ApiError("request.invalid", "send multipart/form-data");
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > spec.maxBodyBytes) throw spec.tooLarge();
  if (!request.body) throw new ApiError("request.invalid", "the request has no body");

  const events: Event[] = [];
  let failure: ApiError | null = null;
  let done = false;
  const parser = Multipart.make({
    headers: { "content-type": request.headers.get("content-type") ?? "" },
    maxParts: MAX_PARTS,
    maxFieldSize: MAX_FIELD_BYTES,
    onField(info, value) {
      events.push({ kind: "field", name: info.name, value: Multipart.decodeField(info, value), isFile: false });
    },
    onFile(info) {
      events.push({ kind: "start", info });
      return (chunk) => events.push(chunk === null ? { kind: "end" } : { kind: "chunk", chunk });
    },
    onError(error) {
      failure ??= parseError(error);
    },
    onDone() {
      done = true;
    },
  });

  const fields: Record<string, string | string[]> = {};
  const stored: T[] = [];
  // The file part being received (a holder: the closures below change it).
  const open: { sink: FileSink<T> | null } = { sink: null };
  let fileParts = 0;
  const reader = new BodyReader(request.body);
  let held: Uint8Array | null = null;
  let received = 0;

  // multipasta misreads a closing delimiter split between its two dashes ("--B-" | "-"): no chunk handed to it
  // ends with '-' (up to DASH_HOLDBACK of them wait for the next chunk), so that split never happens.
  const feed = (chunk: Uint8Array, last: boolean) => {
    let data = chunk;
    if (held) {
      data = new Uint8Array(held.length + chunk.length);
      data.set(held);
      data.set(chunk, held.length);
      held = null;
    }
    if (!last) {
      let cut = data.length;
      while (cut > 0 && data.length - cut < DASH_HOLDBACK && data[cut - 1] === 0x2d) cut--;
      if (cut < data.length) {
        held = data.slice(cut);
        data = data.subarray(0, cut);
      }
    }
    if (data.length > 0) parser.write(data);
    if (last) parser.end();
  };

  const drain = async () => {
    while (events.length > 0 && !failure) {
      const event = events.shift()!;
      switch (event.kind) {
        case "field":
          if (event.name === spec.fileField) throw new ApiError("request.invalid", `\`${spec.fileField}\` must be a file part (with a filename), not a text field`);
          if (!spec.fields.includes(event.name)) throw unknownField(event.name, spec);
          if (spec.repeatable?.includes(event.name)) ((fields[event.name] ??= []) as string[]).push(event.value);
          else if (event.name in fields) throw new ApiError("request.invalid", `the field \`${event.name}\` appears more than once`);
          else fields[event.name] = event.value;
          break;
        case "start":
          if (event.info.name !== spec.fileField) {
            throw spec.fields.includes(event.info.name)
              ? new ApiError("request.invalid", `\`${event.info.name}\` must be a text field, not a file`)
              : unknownField(event.info.name, spec);
          }
          if (++fileParts > spec.maxFiles) throw spec.maxFiles === 1 ? new ApiError("request.invalid", `send one \`${spec.fileField}\` field; this request has more`) : spec.tooManyFiles();
          open.sink = spec.openFile(event.info.filename ?? "", fileParts - 1);
          break;
        case "chunk":
          await open.sink!.write(event.chunk);
          break;
        case "end": {
          const sink = open.sink!;
          open.sink = null;
          stored.push(await sink.close());
          break;
        }
      }
    }
  };

  try {
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw new ApiError("request.incomplete_body", `the upload was cut off: ${(error as Error).message || "the connection closed before the end of the body"}`);
      }
      if (chunk === null) {
        feed(new Uint8Array(0), true);
        await drain();
        break;
      }
      received += chunk.length;
      if (received > spec.maxBodyBytes) throw spec.tooLarge();
      feed(chunk, false);
      await drain();
      if (failure) throw failure;
    }
    if (failure) throw failure;
    if (!done) throw new ApiError("request.incomplete_body", "the body ended before the form's closing boundary: the upload was cut off");
    return { fields, files: stored };
  } catch (error) {
    await Promise.allSettled([...(open.sink ? [open.sink.abort()] : []), ...stored.map((s) => spec.discard(s))]);
    reader.cancel().catch(() => undefined);
    throw error;
  }
}

/**
 * The request body in chunks of READ_BYTES read into READ_BUFFERS reused buffers (a BYOB reader): the
 * runtime allocates nothing per chunk, so memory stays flat however large the body. Bodies that are not
 * byte streams are read with a default reader.
 */
class BodyReader {
  private readonly byob: ReadableStreamBYOBReader | null = null;
  private readonly plain: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private readonly buffers: ArrayBuffer[] = [];
  private next = 0;
  private ended = false;

  constructor(body: ReadableStream<Uint8Array>) {
    try {
      this.byob = body.getReader({ mode: "byob" });
      for (let i = 0; i < READ_BUFFERS; i++) this.buffers.push(new ArrayBuffer(READ_BYTES));
    } catch {
      this.plain = body.getReader();
    }
  }

  /** The next chunk, or null at the end of the body. */
  async read(): Promise<Uint8Array | null> {
    if (this.plain) {
      const { done, value } = await this.plain.read();
      return done ? null : value;
    }
    if (this.ended) return null;
    const slot = this.next;
    this.next = (slot + 1) % READ_BUFFERS;
    let buffer = this.buffers[slot]!;
    let filled = 0;
    while (filled < READ_BYTES) {
      // Each read transfers the buffer: keep the one it hands back.
      const { done, value } = await this.byob!.read(new Uint8Array(buffer, filled, READ_BYTES - filled));
      if (value) {
        buffer = value.buffer as ArrayBuffer;
        filled += value.byteLength;
      }
      if (done) {
        this.ended = true;
        break;
      }
    }
    this.buffers[slot] = buffer;
    return filled === 0 ? null : new Uint8Array(buffer, 0, filled);
  }

  cancel(): Promise<void> {
    return (this.byob ?? this.plain)!.cancel();
  }
}

function unknownField(name: string, spec: Pick<UploadFormSpec<unknown>, "fileField" | "fields">): ApiError {
  return new ApiError("request.invalid", `unknown field \`${name}\`; this endpoint takes: ${[spec.fileField, ...spec.fields].map((f) => `\`${f}\``).join(", ")}`, { field: name });
}

function parseError(error: Multipart.MultipartError): ApiError {
  switch (error._tag) {
    case "InvalidBoundary":
      return new ApiError("request.invalid", "the multipart Content-Type has no boundary");
    case "BadHeaders":
      // Control characters are not allowed in header values (RFC 9110), so a file name holding them ends here.
      return error.error.reason === "InvalidHeaderValue"
        ? new ApiError("request.invalid_filename", "a part's headers hold control characters (in the file name?); rename the file")
        : new ApiError("request.invalid", `a part's headers are malformed (${error.error.reason})`);
    case "InvalidDisposition":
      return new ApiError("request.invalid", "a part has no name in its Content-Disposition");
    case "EndNotReached":
      return new ApiError("request.incomplete_body", "the body ended inside a part: the upload was cut off");
    case "ReachedLimit":
      return error.limit === "MaxParts"
        ? new ApiError("request.invalid", `a form has at most ${MAX_PARTS} parts`)
        : new ApiError("request.too_large", `a text field is longer than ${MAX_FIELD_BYTES} bytes`);
  }
}
