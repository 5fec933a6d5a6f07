// HTTP surface of the converter: GET /health, GET /formats, POST /convert. The contract is in
// container/README.md; the Worker's converter client depends on it. Every route but GET /health wants the
// shared secret in X-Converter-Secret.

import { createHash, timingSafeEqual } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { type Config, loadConfig } from "./config.ts";
import { Converter } from "./conversion.ts";
import { type Isolation, probeIsolation } from "./engine/isolation.ts";
import { sweepStaleRoots } from "./engine/leftovers.ts";
import { ensureProfileTemplate, isProfile } from "./engine/profile.ts";
import { ToolBox } from "./engine/tools.ts";
import { ConvertError } from "./errors.ts";
import { catalog, isSource, isTarget, sources } from "./formats.ts";
import { createLogger, type Logger } from "./log.ts";
import { parseOptions } from "./options.ts";
import { Pool } from "./pool.ts";

export interface RunningServer {
  server: Server;
  pool: Pool;
  port: number;
  isolation: Isolation;
  /** Stops accepting, lets in-flight conversions finish for up to `graceMs`, kills LibreOffice, cleans up. */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  if (!config.secret && !isLoopback(config.host)) {
    throw new Error(
      `CONVERTER_SECRET is not set: refusing to listen on ${config.host} without it (set it, or CONVERTER_HOST=127.0.0.1)`,
    );
  }
  await sweepStaleRoots(config.tempDir);
  const root = await mkdtemp(join(config.tempDir, `docconv-${process.pid}-`));
  const requestsDir = join(root, "requests");
  await mkdir(requestsDir, { mode: 0o700 });

  // Instance slot i runs as uidBase + i, render slot j as uidBase + instances + j.
  const uids = Array.from({ length: 2 * config.instances }, (_, i) => config.sandboxUidBase + i);
  const isolation = probeIsolation({ setting: config.isolation, uids, root });
  await isolation.prepareRoot(root, uids);
  log(isolation.level === "bwrap+uid" ? "info" : "warn", "isolation", {
    ...isolation.describe(),
    uids: isolation.uids ? `${uids[0]}-${uids.at(-1)}` : null,
    memoryLimitMb: Math.round(config.memoryLimitBytes / 1048576),
    addressSpaceMb: Math.round(config.addressSpaceBytes / 1048576),
    toolMemoryMb: Math.round(config.toolMemoryBytes / 1048576),
    cpuLimitSeconds: config.cpuLimitSeconds,
    maxOutputMb: Math.round(config.maxOutputBytes / 1048576),
  });

  let profileTemplate = config.profileTemplate;
  if (!profileTemplate || !isProfile(profileTemplate)) {
    // No template baked into the image (local runs): make one now; it costs a fraction of a second.
    profileTemplate = join(root, "profile-template");
    await ensureProfileTemplate(profileTemplate, config.soffice);
  }

  const pool = new Pool({
    size: config.instances,
    maxQueue: config.maxQueue,
    queueTimeoutMs: config.queueTimeoutMs,
    maxConversions: config.maxConversions,
    maxRssBytes: config.maxRssBytes,
    startTimeoutMs: config.startTimeoutMs,
    root,
    profileTemplate,
    python: config.python,
    soffice: config.soffice,
    warm: config.warm,
    log,
    isolation,
    uidBase: isolation.uids ? config.sandboxUidBase : undefined,
    limits: {
      memoryBytes: config.memoryLimitBytes,
      addressSpaceBytes: config.addressSpaceBytes,
      cpuSeconds: config.cpuLimitSeconds,
      outputBytes: config.maxOutputBytes,
    },
  });
  void pool.start();
  const tools = new ToolBox({
    isolation,
    root,
    slots: config.instances,
    uidBase: isolation.uids ? config.sandboxUidBase + config.instances : undefined,
    limits: {
      addressSpaceBytes: config.toolMemoryBytes,
      cpuSeconds: config.cpuLimitSeconds,
      fileSizeBytes: config.maxOutputBytes,
    },
    maxOutputBytes: config.maxOutputBytes,
  });
  const converter = new Converter(pool, tools);
  const secretDigest = config.secret === undefined ? undefined : digest(config.secret);
  const formatsJson = JSON.stringify(catalog(config.maxTimeoutMs / 1000, config.timeoutMs / 1000));
  let inFlight = 0;
  let accepting = true;

  const server = createServer((req, res) => {
    void route(req, res).catch((error) => {
      log("error", "unhandled error", { error: (error as Error).stack });
      if (!res.headersSent) sendError(res, new ConvertError("convert.engine_failure", "internal error"));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0; // uploads and conversions have their own limits

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://converter");
    if (url.pathname === "/health" && (req.method === "GET" || req.method === "HEAD")) return health(res);
    if (!authorized(req)) {
      req.resume();
      res.setHeader("Connection", "close");
      return sendError(res, new ConvertError("convert.unauthorized", "a valid X-Converter-Secret header is required"));
    }
    if (!accepting) {
      // Draining for a shutdown: in-flight conversions finish, new work goes elsewhere.
      req.resume();
      res.setHeader("Connection", "close");
      return sendError(res, new ConvertError("convert.busy", "the converter is shutting down", {}, 5));
    }
    if (url.pathname === "/formats" && (req.method === "GET" || req.method === "HEAD")) {
      return sendJson(res, 200, formatsJson);
    }
    if (url.pathname === "/convert" && req.method === "POST") {
      inFlight++;
      try {
        return await convert(req, res, url.searchParams);
      } finally {
        inFlight--;
      }
    }
    req.resume();
    const known = ["/health", "/formats", "/convert"].includes(url.pathname);
    sendError(
      res,
      new ConvertError(
        "convert.not_found",
        known ? `${req.method} is not allowed on ${url.pathname}` : `no route ${url.pathname}`,
      ),
      known ? 405 : 404,
    );
  }

  /** Constant time: both sides are hashed to 32 bytes first, so neither the length nor a prefix leaks. */
  function authorized(req: IncomingMessage): boolean {
    if (secretDigest === undefined) return true;
    const sent = req.headers["x-converter-secret"];
    if (typeof sent !== "string") return false;
    return timingSafeEqual(digest(sent), secretDigest);
  }

  function health(res: ServerResponse): void {
    const stats = pool.stats();
    const body = {
      status: !accepting ? "stopping" : pool.isReady ? "ok" : "starting",
      isolation: isolation.level,
      instances: { total: stats.total, ready: stats.ready, busy: stats.busy, starting: stats.starting },
      queued: stats.queued,
      conversions: stats.conversions,
      recycled: stats.recycled,
      crashed: stats.crashed,
      timedOut: stats.timedOut,
      limited: stats.limited,
      canceled: stats.canceled,
    };
    sendJson(res, body.status === "ok" ? 200 : 503, JSON.stringify(body));
  }

  async function convert(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): Promise<void> {
    const received = Date.now();
    let workDir: string | undefined;
    const aborted = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) aborted.abort();
    });
    try {
      const to = params.get("to")?.toLowerCase().replace(/^\./, "");
      const from = params.get("from")?.toLowerCase().replace(/^\./, "") || extensionOf(params.get("filename"));
      if (!to)
        throw new ConvertError("convert.invalid_option", "the query parameter `to` (target format) is required", {
          option: "to",
        });
      if (!isTarget(to)) {
        throw new ConvertError("convert.unsupported_format_pair", `unknown target format "${to}"`, {
          sourceFormat: from ?? null,
          targetFormat: to,
          supportedTargets: from && isSource(from) ? sources[from].targets : [],
        });
      }
      const options = parseOptions(params, to, { defaultMs: config.timeoutMs, maxMs: config.maxTimeoutMs });
      const declaredLength = Number(req.headers["content-length"] ?? NaN);
      if (declaredLength > config.maxBytes) throw tooLarge(config.maxBytes);
      if (declaredLength === 0) throw new ConvertError("convert.empty_input", "the request body is empty");
      const stats = pool.stats();
      if (stats.queued >= config.maxQueue && stats.ready - stats.busy <= 0) {
        // Refuse before reading the upload: there is no room for it anyway.
        throw new ConvertError(
          "convert.busy",
          "all instances are busy and the queue is full",
          { queued: stats.queued },
          Math.max(1, Math.ceil(stats.averageMs / 1000)),
        );
      }

      workDir = await mkdtemp(join(requestsDir, "r-"));
      const upload = join(workDir, "upload");
      await receive(req, upload, config.maxBytes);
      const uploadedMs = Date.now() - received;

      const started = Date.now();
      const result = await converter.convert({
        input: upload,
        workDir,
        target: to,
        declaredSource: from,
        filename: params.get("filename") ?? undefined,
        options,
        signal: aborted.signal,
      });
      const { size } = await stat(result.path);
      const headers: Record<string, string | number> = {
        "Content-Type": result.mediaType,
        "Content-Length": size,
        "X-Output-Extension": result.extension,
        "X-Output-Files": result.files,
        "X-Source-Format": result.sourceFormat,
        "X-Conversion-Ms": Date.now() - started,
        "X-Queue-Ms": result.queueMs,
      };
      if (result.inputPages !== undefined) headers["X-Input-Pages"] = result.inputPages;
      if (result.outputPages !== undefined) headers["X-Output-Pages"] = result.outputPages;
      res.writeHead(200, headers);
      try {
        await pipeline(createReadStream(result.path), res);
      } catch (error) {
        log("info", "client went away while the result was sent", { error: (error as Error).message });
        return;
      }
      log("info", "converted", {
        source: result.sourceFormat,
        target: to,
        bytes: size,
        uploadMs: uploadedMs,
        queueMs: result.queueMs,
        ms: Date.now() - started,
      });
    } catch (error) {
      const failure = error instanceof ConvertError ? error : unexpected(error, log);
      if (!res.headersSent) {
        if (!req.complete) discardRest(req, res, config.maxBytes);
        sendError(res, failure);
      } else {
        res.destroy();
      }
      if (failure.status >= 500) log("warn", "conversion failed", { code: failure.code, detail: failure.detail });
    } finally {
      if (workDir) await rm(workDir, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  log("info", "listening", {
    port,
    host: config.host,
    instances: config.instances,
    isolation: isolation.level,
    secret: secretDigest !== undefined,
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    pool,
    port,
    isolation,
    close(graceMs = config.shutdownGraceMs) {
      closing ??= (async () => {
        // Keep listening while draining: new requests hear 503 convert.busy with Retry-After (the Worker
        // requeues them) instead of a refused connection; idle keep-alive connections stay open for them too
        // (closing one races a client that is just sending on it).
        accepting = false;
        const deadline = Date.now() + graceMs;
        while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        server.close();
        await pool.close();
        server.closeAllConnections();
        await rm(root, { recursive: true, force: true, maxRetries: 3 });
        log("info", "stopped", {});
      })();
      return closing;
    },
  };
}

/**
 * Streams the body to `path`, refusing past `maxBytes` without buffering it. The request is piped, not
 * pipelined: a refusal must not destroy it (that resets the connection under a client still sending, which
 * then never hears the 413); the caller discards the rest.
 */
async function receive(req: IncomingMessage, path: string, maxBytes: number): Promise<void> {
  let received = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > maxBytes) callback(tooLarge(maxBytes));
      else callback(null, chunk);
    },
  });
  const cutOff = () => {
    if (!req.complete) limit.destroy(new Error("the client closed the connection"));
  };
  req.once("close", cutOff);
  req.pipe(limit);
  try {
    await pipeline(limit, createWriteStream(path));
  } catch (error) {
    req.unpipe(limit);
    if (error instanceof ConvertError) throw error;
    throw new ConvertError("convert.empty_input", `the upload did not complete: ${(error as Error).message}`);
  }
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/**
 * After refusing a request whose body is still arriving: read and discard the rest (a lingering close, as HTTP
 * servers do), so a client still sending hears the answer rather than a reset, and the connection stays usable.
 * A body announced or running beyond `lingerBytes` more is not worth reading: the connection closes after
 * the answer.
 */
function discardRest(req: IncomingMessage, res: ServerResponse, lingerBytes: number): void {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > lingerBytes * 2) {
    res.setHeader("Connection", "close");
    req.resume();
    return;
  }
  let discarded = 0;
  req.on("data", (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > lingerBytes * 2) req.socket.destroy();
  });
  req.resume();
}

function tooLarge(maxBytes: number): ConvertError {
  return new ConvertError("convert.input_too_large", `the document is larger than ${maxBytes} bytes`, { maxBytes });
}

function extensionOf(filename: string | null): string | undefined {
  const match = filename ? /\.([A-Za-z0-9]{1,8})$/.exec(filename) : null;
  return match?.[1]?.toLowerCase();
}

function unexpected(error: unknown, log: Logger): ConvertError {
  log("error", "unexpected conversion error", { error: (error as Error)?.stack ?? String(error) });
  return new ConvertError("convert.engine_failure", `unexpected error: ${(error as Error)?.message ?? error}`, {
    retryable: true,
  });
}

function sendJson(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
    ...extra,
  });
  res.end(body);
}

function sendError(res: ServerResponse, error: ConvertError, status = error.status): void {
  const extra: Record<string, string> = {};
  if (error.retryAfter !== undefined) extra["Retry-After"] = String(error.retryAfter);
  sendJson(res, status, JSON.stringify(error.toJSON()), extra);
}

async function main(): Promise<void> {
  const config = loadConfig();
  // Nothing the server starts inherits the secret (children get explicit environments anyway).
  delete process.env.CONVERTER_SECRET;
  const log = createLogger(config.logLevel);
  const running = await startServer(config, log);
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log("info", "shutting down", { signal });
    void running.close(config.shutdownGraceMs).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    process.stderr.write(`converter failed to start: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
