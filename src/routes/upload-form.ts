// multipart/form-data read as a stream, for the upload endpoints (POST /v1/files, /v1/convert,
// /v1/convert/batch): text fields are collected, each file part is handed chunk by chunk to a sink (which
// stores it in R2) and the next chunk of the request is read only when the sink has taken the last one, so a
// file is never held whole. Limits are enforced as the bytes arrive: Content-Length before reading, the body's
// size while reading (413 at the byte that crosses it, without reading the rest), fields and parts by count.
// The boundaries are found by multipasta's streaming search (README "Uploads"); the parts, their headers and the
// form's rules are read here, with back-pressure, without regular expressions over the body.
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as Search from "multipasta/Search";
import type { AppEnv } from "../app-env";
import {
  type BodyTimeouts,
  MULTIPART_OVERHEAD_BYTES,
  maxFileSizeBytes,
  type ReceivedUpload,
  uploadSink,
  uploadTimeouts,
} from "../domain/uploads";
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
  /** How long one read of the body may wait for bytes, and the whole body may take (uploadTimeouts). */
  timeouts: BodyTimeouts;
}

export interface UploadForm<T> {
  fields: Record<string, string | string[]>;
  files: T[];
}

const MAX_PARTS = 100;
const MAX_FIELD_BYTES = 16 * 1024;
// The body is read into a few reused buffers of this size (BYOB), each filled before the parser sees it.
const READ_BYTES = 64 * 1024;
// The boundary search keeps a view of the previous chunk's tail (a possible start of a boundary) until the next
// write; headers and text fields are copied as they arrive. A buffer is refilled only after three others.
const READ_BUFFERS = 4;

type Event =
  | { kind: "field"; name: string; value: string }
  | { kind: "start"; name: string; filename: string }
  | { kind: "chunk"; chunk: Uint8Array }
  | { kind: "end" };

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Uint8Array.of(13, 10);
const utf8 = new TextDecoder();

/**
 * The multipart grammar over the segments between boundaries (RFC 7578, RFC 2046 §5.1): each segment after a
 * delimiter is "--" (the close) or CRLF, header lines, an empty line, and the part's body. Pushes events;
 * calls `fail` with the first error. Headers are decoded as UTF-8 (what browsers send for non-ASCII names);
 * control characters are kept, for the file-name rules to remove.
 */
class PartReader {
  done = false;
  private readonly events: Event[];
  private readonly fail: (error: ApiError) => void;
  private segment = -1;
  private state: "preamble" | "lead" | "headers" | "file" | "field" | "epilogue" = "preamble";
  private lead: Uint8Array = new Uint8Array(0);
  private header: Uint8Array = new Uint8Array(0);
  private field: { name: string; bytes: Uint8Array[]; size: number } | null = null;
  private parts = 0;

  private readonly fileField: string;

  constructor(events: Event[], fail: (error: ApiError) => void, fileField: string) {
    this.events = events;
    this.fail = fail;
    this.fileField = fileField;
  }

  /** A piece of segment `index` (0: before the first boundary). */
  take(index: number, chunk: Uint8Array): void {
    if (index !== this.segment) {
      this.finishPart();
      this.segment = index;
      if (this.state === "epilogue") return;
      this.state = index === 0 ? "preamble" : "lead";
      this.lead = new Uint8Array(0);
      this.header = new Uint8Array(0);
    }
    switch (this.state) {
      case "preamble":
      case "epilogue":
        return;
      case "lead": {
        // "--" closes the form; otherwise the segment is CRLF, the headers, an empty line, the body.
        const joined = concat(this.lead, chunk.subarray(0, 2 - this.lead.length));
        if (joined.length < 2) {
          this.lead = joined;
          return;
        }
        if (joined[0] === 0x2d && joined[1] === 0x2d) {
          this.done = true;
          this.state = "epilogue";
          return;
        }
        if (++this.parts > MAX_PARTS)
          return this.fail(new ApiError("request.invalid", `a form has at most ${MAX_PARTS} parts`));
        this.state = "headers";
        this.header = joined;
        return this.headers(chunk.subarray(2 - this.lead.length));
      }
      case "headers":
        return this.headers(chunk);
      case "file":
        this.events.push({ kind: "chunk", chunk });
        return;
      case "field": {
        const field = this.field!;
        field.size += chunk.length;
        if (field.size > MAX_FIELD_BYTES)
          return this.fail(new ApiError("request.too_large", `a text field is longer than ${MAX_FIELD_BYTES} bytes`));
        // A copy: the chunk's buffer is reused for later reads.
        field.bytes.push(chunk.slice());
        return;
      }
    }
  }

  private headers(chunk: Uint8Array): void {
    const from = Math.max(0, this.header.length - 3);
    this.header = concat(this.header, chunk);
    // The header block starts with the CRLF after the boundary and ends with an empty line.
    const end = indexOfBlankLine(this.header, from);
    if (end < 0) {
      if (this.header.length > MAX_HEADER_BYTES)
        this.fail(
          new ApiError(
            "request.invalid",
            indexOfBareBlankLine(this.header) >= 0
              ? "a part's header lines end with LF alone: multipart/form-data needs CRLF line endings"
              : `a part's headers are longer than ${MAX_HEADER_BYTES} bytes`,
          ),
        );
      return;
    }
    const disposition = contentDisposition(utf8.decode(this.header.subarray(2, end)));
    const rest = this.header.subarray(end + 4);
    this.header = new Uint8Array(0);
    if (disposition?.type !== "form-data" || disposition.name === undefined) {
      return this.fail(new ApiError("request.invalid", "each part needs Content-Disposition: form-data with a name"));
    }
    if (disposition.filename !== undefined) {
      this.state = "file";
      this.events.push({ kind: "start", name: disposition.name, filename: disposition.filename });
      if (rest.length) this.events.push({ kind: "chunk", chunk: rest });
    } else if (disposition.name === this.fileField) {
      // Said now, not once the "field" is past the text-field limit.
      return this.fail(
        new ApiError(
          "request.invalid",
          `\`${this.fileField}\` must be a file part (with a filename), not a text field`,
        ),
      );
    } else {
      this.state = "field";
      this.field = { name: disposition.name, bytes: [], size: 0 };
      if (rest.length) this.take(this.segment, rest);
    }
  }

  private finishPart(): void {
    if (this.state === "file") this.events.push({ kind: "end" });
    if (this.state === "field" && this.field) {
      this.events.push({
        kind: "field",
        name: this.field.name,
        value: utf8.decode(concatAll(this.field.bytes, this.field.size)),
      });
      this.field = null;
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function indexOfBareBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 1 < bytes.length; i++) if (bytes[i] === 10 && bytes[i + 1] === 10) return i;
  return -1;
}

function indexOfBlankLine(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 3 < bytes.length; i++)
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  return -1;
}

/**
 * Content-Disposition from a part's header block: its type and the `name`, `filename` and `filename*` (RFC
 * 8187, UTF-8) parameters, quoted strings unescaped. A linear scan, no regular expression.
 */
export function contentDisposition(block: string): { type: string; name?: string; filename?: string } | null {
  let value: string | undefined;
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === "content-disposition") value = line.slice(colon + 1);
  }
  if (value === undefined) return null;
  const params: Record<string, string> = {};
  let i = 0;
  const n = value.length;
  const skipSpace = () => {
    while (i < n && (value![i] === " " || value![i] === "\t")) i++;
  };
  skipSpace();
  let type = "";
  while (i < n && value[i] !== ";") type += value[i++];
  while (i < n) {
    i++; // the ';'
    skipSpace();
    let key = "";
    while (i < n && value[i] !== "=" && value[i] !== ";") key += value[i++];
    key = key.trim().toLowerCase();
    if (value[i] !== "=") continue;
    i++;
    skipSpace();
    let v = "";
    if (value[i] === '"') {
      i++;
      while (i < n && value[i] !== '"') {
        // A backslash escapes a quote or a backslash; anything else stays as written (Windows-like names).
        if (value[i] === "\\" && (value[i + 1] === '"' || value[i + 1] === "\\")) i++;
        v += value[i++];
      }
      i++;
      while (i < n && value[i] !== ";") i++;
    } else {
      while (i < n && value[i] !== ";") v += value[i++];
      v = v.trim();
    }
    if (key && !(key in params)) params[key] = v;
  }
  let filename = params.filename;
  const extended = params["filename*"];
  if (extended !== undefined) {
    const quote = extended.indexOf("'");
    const second = quote >= 0 ? extended.indexOf("'", quote + 1) : -1;
    if (second > 0 && extended.slice(0, quote).toLowerCase() === "utf-8") {
      try {
        filename = decodeURIComponent(extended.slice(second + 1));
      } catch {
        /* malformed: keep the plain filename */
      }
    }
  }
  return {
    type: type.trim().toLowerCase(),
    ...(params.name !== undefined ? { name: params.name } : {}),
    ...(filename !== undefined ? { filename } : {}),
  };
}

/**
 * Documents `route` in the OpenAPI document like any other, but serves it with `handler` alone: zod-openapi
 * would put its form validator in front, and that reads the whole body (c.req.parseBody) before the handler.
 */
export function streamingRoute(
  app: OpenAPIHono<AppEnv>,
  route: RouteConfig,
  handler: (c: Context<AppEnv>) => Promise<Response>,
): void {
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

  const boundary = boundaryOf(request.headers.get("content-type") ?? "");
  if (!boundary) throw new ApiError("request.invalid", "the multipart Content-Type has no boundary");
  const events: Event[] = [];
  let failure: ApiError | null = null;
  const parts = new PartReader(
    events,
    (error) => {
      failure ??= error;
    },
    spec.fileField,
  );
  const search = Search.make(`\r\n--${boundary}`, (index, chunk) => {
    if (!failure) parts.take(index, chunk);
  });
  // The first delimiter has no CRLF before it: supply one.
  search.write(CRLF);
  const parser = {
    write: (chunk: Uint8Array) => search.write(chunk),
    end: () => search.end(),
  };

  const fields: Record<string, string | string[]> = {};
  const stored: T[] = [];
  // The file part being received (a holder: the closures below change it).
  const open: { sink: FileSink<T> | null } = { sink: null };
  let fileParts = 0;
  const reader = new BodyReader(request.body, spec.timeouts);
  let received = 0;

  const feed = (chunk: Uint8Array, last: boolean) => {
    if (chunk.length > 0) parser.write(chunk);
    if (last) parser.end();
  };

  const done = () => parts.done;
  const drain = async () => {
    while (events.length > 0 && !failure) {
      const event = events.shift()!;
      switch (event.kind) {
        case "field":
          if (event.name === spec.fileField)
            throw new ApiError(
              "request.invalid",
              `\`${spec.fileField}\` must be a file part (with a filename), not a text field`,
            );
          if (!spec.fields.includes(event.name)) throw unknownField(event.name, spec);
          if (spec.repeatable?.includes(event.name)) ((fields[event.name] ??= []) as string[]).push(event.value);
          else if (event.name in fields)
            throw new ApiError("request.invalid", `the field \`${event.name}\` appears more than once`);
          else fields[event.name] = event.value;
          break;
        case "start":
          if (event.name !== spec.fileField) {
            throw spec.fields.includes(event.name)
              ? new ApiError("request.invalid", `\`${event.name}\` must be a text field, not a file`)
              : unknownField(event.name, spec);
          }
          if (++fileParts > spec.maxFiles)
            throw spec.maxFiles === 1
              ? new ApiError("request.invalid", `send one \`${spec.fileField}\` field; this request has more`)
              : spec.tooManyFiles();
          open.sink = spec.openFile(event.filename, fileParts - 1);
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
        if (error instanceof ApiError) throw error;
        throw new ApiError(
          "request.incomplete_body",
          `the upload was cut off: ${(error as Error).message || "the connection closed before the end of the body"}`,
        );
      }
      if (chunk === null) {
        feed(new Uint8Array(0), true);
        await drain();
        break;
      }
      // Bytes past the limit are not parsed: a form that closed before it is taken, whatever follows.
      const room = spec.maxBodyBytes - received;
      received += chunk.length;
      feed(chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk, false);
      await drain();
      if (failure) throw failure;
      // The closing boundary ends the form: an epilogue (or anything else after it) is not read.
      if (done()) {
        reader.cancel().catch(() => undefined);
        break;
      }
      if (received > spec.maxBodyBytes) throw spec.tooLarge();
    }
    if (failure) throw failure;
    if (!done())
      throw new ApiError(
        "request.incomplete_body",
        "the body ended before the form's closing boundary: the upload was cut off",
      );
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
 * byte streams are read with a default reader. A sender that stops sending is cut off: the platform keeps a
 * stalled request (and what it holds) open, so each read waits at most `idleMs` and the whole body `totalMs`.
 */
class BodyReader {
  private readonly byob: ReadableStreamBYOBReader | null = null;
  private readonly plain: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private readonly buffers: ArrayBuffer[] = [];
  private readonly timeouts: BodyTimeouts;
  private readonly deadline: number;
  private next = 0;
  private ended = false;

  constructor(body: ReadableStream<Uint8Array>, timeouts: BodyTimeouts) {
    this.timeouts = timeouts;
    this.deadline = Date.now() + timeouts.totalMs;
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
      const { done, value } = await this.timed(this.plain.read());
      return done ? null : value;
    }
    if (this.ended) return null;
    const slot = this.next;
    this.next = (slot + 1) % READ_BUFFERS;
    let buffer = this.buffers[slot]!;
    let filled = 0;
    while (filled < READ_BYTES) {
      // Each read transfers the buffer: keep the one it hands back.
      const { done, value } = await this.timed(this.byob!.read(new Uint8Array(buffer, filled, READ_BYTES - filled)));
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

  /** One read of the body, refused once it waits past the idle timeout or the body's deadline. */
  private async timed<R>(read: Promise<R>): Promise<R> {
    const wait = Math.min(this.timeouts.idleMs, this.deadline - Date.now());
    const idle = wait === this.timeouts.idleMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ApiError(
              "request.incomplete_body",
              idle
                ? `the upload stalled: no bytes arrived for ${this.timeouts.idleMs / 1000} s`
                : `the upload took longer than ${this.timeouts.totalMs / 1000} s to send`,
            ),
          ),
        Math.max(0, wait),
      );
    });
    try {
      return await Promise.race([read, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function unknownField(name: string, spec: Pick<UploadFormSpec<unknown>, "fileField" | "fields">): ApiError {
  return new ApiError(
    "request.invalid",
    `unknown field \`${name}\`; this endpoint takes: ${[spec.fileField, ...spec.fields].map((f) => `\`${f}\``).join(", ")}`,
    { field: name },
  );
}

/** The boundary parameter of a multipart Content-Type (quoted or not), or null. */
function boundaryOf(contentType: string): string | null {
  const at = contentType.toLowerCase().indexOf("boundary=");
  if (at < 0) return null;
  let value = contentType.slice(at + 9);
  const semicolon = value.indexOf(";");
  if (semicolon >= 0) value = value.slice(0, semicolon);
  value = value.trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  return value.length > 0 && value.length <= 200 ? value : null;
}

/** The form of an endpoint that takes one document (`file`) and text fields: POST /v1/files and /v1/convert. */
export function readOneDocumentForm(c: Context<AppEnv>, fields: string[]): Promise<UploadForm<ReceivedUpload>> {
  const limit = maxFileSizeBytes(c.env);
  return readUploadForm(c.req.raw, {
    fields,
    fileField: "file",
    maxFiles: 1,
    tooManyFiles: () => new ApiError("request.invalid", "send one `file` field"),
    maxBodyBytes: limit + MULTIPART_OVERHEAD_BYTES,
    tooLarge: () =>
      new ApiError(
        "request.too_large",
        `the request body exceeds the limit of ${limit} bytes for the file plus ${MULTIPART_OVERHEAD_BYTES} for the form`,
        { maxFileSizeBytes: limit },
      ),
    openFile: (name) => uploadSink(c.env, c.var.caller.accountId, name, { maxFileBytes: limit }),
    discard: (upload) => upload.discard(),
    timeouts: uploadTimeouts(c.env),
  });
}
