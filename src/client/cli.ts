// The `docconv` command line (bin/docconv.js runs this file through Node's type stripping).
//   docconv convert report.docx --to pdf -o report.pdf
//   docconv jobs | credits | formats | estimate docx pdf | job <id> | download <id> | cancel <id>
// The server and key come from --api-url/--api-key or DOCCONV_API_URL/DOCCONV_API_KEY.
import { createWriteStream, openAsBlob, statSync } from "node:fs";
import { basename, join } from "node:path";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { DocconvClient, DocconvError, JobFailedError } from "./index.ts";
import type { ConvertOptions, JobStatus } from "./types.ts";

const DEFAULT_API_URL = "http://127.0.0.1:8787";

/** Exit codes: 0 success, 1 API or network error, 2 usage error, 3 the job ended Failed or Canceled. */
const EXIT = { ok: 0, error: 1, usage: 2, jobFailed: 3 } as const;

const USAGE = `docconv: convert office documents with the docconv API

Usage:
  docconv convert <file> --to <format> [-o <output>] [--pages 1-3|all] [--sheet N|all] [--dpi N] [--quality N]
                  [--pdfa 1b|2b|3b] [--idempotency-key K] [--no-wait] [--timeout SECONDS]
  docconv job <id>                 a job's status
  docconv download <id> [-o <output>]
  docconv cancel <id>
  docconv jobs [--status Queued|Running|Succeeded|Failed|Canceled] [--limit N]
  docconv credits                  plan, credit balance and daily limit
  docconv formats [--from <format>] what converts to what, and the price
  docconv estimate <from> <to> [--bytes N] [--pages N]

Options:
  --api-url <url>   server root (env DOCCONV_API_URL, default ${DEFAULT_API_URL})
  --api-key <key>   API key (env DOCCONV_API_KEY)
  --json            print the API's JSON instead of text
  -q, --quiet       no progress on stderr
  -h, --help        this help;  -v, --version

Images (--to png|jpg) of a multi-page document are every page, as a ZIP, unless --pages selects some.
Errors print the API's dotted code (e.g. credits.insufficient) and its status.

Exit codes: 0 success, 1 API or network error, 2 usage error, 3 the job ended Failed or Canceled.
`;

class UsageError extends Error {}

const OPTIONS = {
  "api-url": { type: "string" },
  "api-key": { type: "string" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  to: { type: "string" },
  output: { type: "string", short: "o" },
  pages: { type: "string" },
  sheet: { type: "string" },
  dpi: { type: "string" },
  quality: { type: "string" },
  pdfa: { type: "string" },
  "idempotency-key": { type: "string" },
  "no-wait": { type: "boolean" },
  timeout: { type: "string" },
  status: { type: "string" },
  limit: { type: "string" },
  from: { type: "string" },
  bytes: { type: "string" },
} as const;

type Flags = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

// ---- progress on stderr: a redrawn line on a terminal, a line per step otherwise (logs, CI) ------------

class StatusLine {
  readonly #tty: boolean;
  readonly #quiet: boolean;
  #lastKey = "";
  #drawn = false;

  constructor(quiet: boolean) {
    this.#quiet = quiet;
    this.#tty = Boolean(process.stderr.isTTY);
  }

  /** `key` decides when a non-terminal gets a new line: only when it changes. */
  update(text: string, key: string) {
    if (this.#quiet) return;
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${text}`);
      this.#drawn = true;
    } else if (key !== this.#lastKey) {
      process.stderr.write(`${text}\n`);
    }
    this.#lastKey = key;
  }

  done(text?: string) {
    if (this.#quiet) return;
    if (this.#tty && this.#drawn) process.stderr.write(text ? `\r\x1b[2K${text}\n` : "\n");
    else if (text) process.stderr.write(`${text}\n`);
    this.#drawn = false;
    this.#lastKey = "";
  }
}

function bar(done: number, total: number, width = 24): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Percent in steps of 25 for non-terminals, so a log gets five lines, not five hundred. */
const step = (done: number, total: number) => String(total > 0 ? Math.floor((done / total) * 4) : 4);

// ---- commands --------------------------------------------------------------------------------------

interface Context {
  client: DocconvClient;
  flags: Flags;
  status: StatusLine;
  print(text: string, json: unknown): void;
}

function convertOptions(flags: Flags): ConvertOptions {
  const integer = (name: "dpi" | "quality") => {
    const value = flags[name];
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new UsageError(`--${name} takes a whole number`);
    return Number(value);
  };
  const pdfa = flags.pdfa;
  if (pdfa !== undefined && pdfa !== "1b" && pdfa !== "2b" && pdfa !== "3b")
    throw new UsageError("--pdfa is 1b, 2b or 3b");
  return { pages: flags.pages, sheet: flags.sheet, dpi: integer("dpi"), quality: integer("quality"), pdfa };
}

function jobLine(job: JobStatus): string {
  return `job ${job.id}: ${job.status}${job.progress.phase ? ` ${job.progress.phase}` : ""}`;
}

async function convert(ctx: Context, positionals: string[]): Promise<number> {
  const [path] = positionals;
  const to = ctx.flags.to;
  if (!path) throw new UsageError("convert: give the document, e.g. docconv convert report.docx --to pdf");
  if (!to) throw new UsageError("convert: give the target format with --to, e.g. --to pdf");
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    throw new UsageError(`convert: cannot read ${path}`);
  }
  if (!stat.isFile()) throw new UsageError(`convert: ${path} is not a file`);
  const options = convertOptions(ctx.flags);
  const timeout = ctx.flags.timeout === undefined ? undefined : Number(ctx.flags.timeout);
  if (timeout !== undefined && !(timeout > 0)) throw new UsageError("--timeout takes seconds, e.g. --timeout 300");

  const name = basename(path);
  const accepted = await ctx.client.convert({
    file: await openAsBlob(path),
    filename: name,
    targetFormat: to,
    ...options,
    idempotencyKey: ctx.flags["idempotency-key"],
    onUploadProgress: (sent, total) =>
      ctx.status.update(`uploading ${name} ${bar(sent, total)} ${size(sent)} / ${size(total)}`, step(sent, total)),
  });
  ctx.status.done(
    `uploaded ${name} (${size(stat.size)}): job ${accepted.id}, ${accepted.creditCost} credit${accepted.creditCost === 1 ? "" : "s"}`,
  );
  if (ctx.flags["no-wait"]) {
    ctx.print(accepted.id, accepted);
    return EXIT.ok;
  }

  let job: JobStatus;
  try {
    job = await ctx.client.waitForJob(accepted.id, {
      timeoutMs: timeout === undefined ? undefined : timeout * 1000,
      onPhase: (j) => ctx.status.update(jobLine(j), `${j.status}/${j.progress.phase}`),
    });
  } catch (err) {
    ctx.status.done();
    throw err;
  }
  ctx.status.done(
    `job ${job.id}: ${job.status} (${size(job.metrics.outputBytes)}${job.output && job.output.fileCount > 1 ? `, ${job.output.fileCount} files` : ""})`,
  );
  const saved = await save(ctx, job.id);
  if (saved !== "-") ctx.print(saved, { ...job, savedTo: saved });
  return EXIT.ok;
}

/** Streams the output to -o (a file, a directory, or - for stdout), else to the server's file name here. */
async function save(ctx: Context, jobId: string): Promise<string> {
  const download = await ctx.client.downloadJob(jobId);
  const output = ctx.flags.output;
  const target =
    output === "-"
      ? "-"
      : output && isDirectory(output)
        ? join(output, download.fileName)
        : (output ?? download.fileName);
  const total = download.bytes ?? 0;
  let received = 0;
  const counted = download.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        if (total)
          ctx.status.update(
            `downloading ${download.fileName} ${bar(received, total)} ${size(received)} / ${size(total)}`,
            step(received, total),
          );
        controller.enqueue(chunk);
      },
    }),
  );
  const sink = target === "-" ? Writable.toWeb(process.stdout) : Writable.toWeb(createWriteStream(target));
  await counted.pipeTo(sink as WritableStream<Uint8Array>);
  ctx.status.done(target === "-" ? undefined : `saved ${target} (${size(received)})`);
  return target;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function showJob(ctx: Context, [id]: string[]): Promise<number> {
  if (!id) throw new UsageError("job: give the job id");
  const job = await ctx.client.getJob(id);
  const lines = [
    `${job.id}  ${job.status}  ${job.sourceFormat} → ${job.targetFormat}  ${job.metrics.creditCost} credits`,
    job.progress.phase ? `phase: ${job.progress.phase}` : null,
    job.error ? `error: ${job.error.code}: ${job.error.detail}` : null,
    job.output ? `output: ${job.output.fileName} (${job.output.contentType}, ${size(job.metrics.outputBytes)})` : null,
  ].filter(Boolean);
  ctx.print(lines.join("\n"), job);
  return EXIT.ok;
}

async function download(ctx: Context, [id]: string[]): Promise<number> {
  if (!id) throw new UsageError("download: give the job id");
  const saved = await save(ctx, id);
  if (saved !== "-") ctx.print(saved, { id, savedTo: saved });
  return EXIT.ok;
}

async function cancel(ctx: Context, [id]: string[]): Promise<number> {
  if (!id) throw new UsageError("cancel: give the job id");
  const job = await ctx.client.cancelJob(id);
  ctx.print(`job ${job.id}: ${job.status}; ${job.metrics.creditCost} credits refunded`, job);
  return EXIT.ok;
}

const STATUSES = ["Queued", "Running", "Succeeded", "Failed", "Canceled"] as const;

async function jobs(ctx: Context): Promise<number> {
  const status = ctx.flags.status;
  if (status !== undefined && !STATUSES.includes(status as (typeof STATUSES)[number]))
    throw new UsageError(`--status is one of ${STATUSES.join(", ")}`);
  const limit = ctx.flags.limit === undefined ? 20 : Number(ctx.flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new UsageError("--limit is 1 to 100");
  const page = await ctx.client.listJobs({ status: status as (typeof STATUSES)[number] | undefined, limit });
  const rows = page.data.map((j) => [
    j.id,
    j.status,
    `${j.sourceFormat} → ${j.targetFormat}`,
    String(j.metrics.creditCost),
    j.createdAt,
  ]);
  const text =
    page.data.length === 0
      ? "no jobs"
      : table([["ID", "STATUS", "CONVERSION", "CREDITS", "CREATED"], ...rows]) +
        (page.has_more ? "\n… more: --limit" : "");
  ctx.print(text, page);
  return EXIT.ok;
}

async function credits(ctx: Context): Promise<number> {
  const e = await ctx.client.entitlements();
  const lines = [
    `plan: ${e.planName} (${e.planId})`,
    `credits: ${e.totalCredits}`,
    e.dailyLimit === null
      ? "daily limit: none"
      : `today: ${e.dailyUsed ?? 0} of ${e.dailyLimit} credits used; resets ${e.resetDate}`,
  ];
  ctx.print(lines.join("\n"), e);
  return EXIT.ok;
}

async function formats(ctx: Context): Promise<number> {
  const catalog = await ctx.client.catalog();
  const from = ctx.flags.from?.toLowerCase();
  if (from) {
    const edges = catalog.sourceFormatTo[from];
    if (!edges) throw new UsageError(`formats: ${from} is not a source format; docconv formats lists them`);
    const rows = edges.map((e) => [e.targetFormat, `${e.costing.baseCost} ${e.costing.displaySuffix}`.trim(), e.job]);
    ctx.print(table([["TO", "PRICE (CREDITS)", "JOB"], ...rows]), edges);
    return EXIT.ok;
  }
  const rows = Object.entries(catalog.sourceFormatTo)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([source, edges]) => [source, edges.map((e) => e.targetFormat).join(" ")]);
  ctx.print(table([["FROM", "TO"], ...rows]), catalog);
  return EXIT.ok;
}

async function estimate(ctx: Context, [from, to]: string[]): Promise<number> {
  if (!from || !to)
    throw new UsageError("estimate: give the source and target formats, e.g. docconv estimate docx pdf --pages 12");
  const number = (name: "bytes" | "pages") => {
    const value = ctx.flags[name];
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new UsageError(`--${name} takes a whole number`);
    return Number(value);
  };
  const e = await ctx.client.estimate(from, to, { bytes: number("bytes"), pages: number("pages") });
  const summary = `${e.sourceFormat} → ${e.targetFormat}: ${e.creditCost} credit${e.creditCost === 1 ? "" : "s"} (${e.costing.strategy} ${e.costing.displaySuffix}, ${round(e.quantity)} ${e.unit})`;
  ctx.print([summary, ...e.assumptions.map((a) => `  assumed: ${a}`)].join("\n"), e);
  return EXIT.ok;
}

const round = (n: number) => Math.round(n * 100) / 100;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "))
    .join("\n");
}

const COMMANDS: Record<string, { needsKey: boolean; run: (ctx: Context, positionals: string[]) => Promise<number> }> = {
  convert: { needsKey: true, run: convert },
  job: { needsKey: true, run: showJob },
  download: { needsKey: true, run: download },
  cancel: { needsKey: true, run: cancel },
  jobs: { needsKey: true, run: jobs },
  credits: { needsKey: true, run: credits },
  formats: { needsKey: false, run: formats },
  estimate: { needsKey: false, run: estimate },
};

// ---- main ------------------------------------------------------------------------------------------

function describe(err: DocconvError, apiUrl: string): string {
  const lines = [`docconv: ${err.code}${err.status ? ` (${err.status})` : ""}: ${err.detail}`];
  const supported = err.body.supportedTargets;
  if (Array.isArray(supported)) lines.push(`  supported targets: ${supported.join(", ")}`);
  if (err.type === "unauthorized") lines.push("  check --api-key / DOCCONV_API_KEY (a local key: npm run key)");
  if (err.code === "client.network")
    lines.push(`  is the API running at ${apiUrl}? (npm run dev; or set --api-url / DOCCONV_API_URL)`);
  if (err.retryAfter) lines.push(`  retry after ${err.retryAfter} s`);
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  let flags: Flags;
  let positionals: string[];
  try {
    ({ values: flags, positionals } = parse(argv));
  } catch (err) {
    process.stderr.write(`docconv: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (flags.version) {
    process.stdout.write("docconv 0.1.0\n");
    return EXIT.ok;
  }
  const [name, ...rest] = positionals;
  if (flags.help || !name || name === "help") {
    (flags.help || name === "help" ? process.stdout : process.stderr).write(USAGE);
    return flags.help || name === "help" ? EXIT.ok : EXIT.usage;
  }
  const command = COMMANDS[name];
  const apiUrl = flags["api-url"] ?? process.env.DOCCONV_API_URL ?? DEFAULT_API_URL;
  const apiKey = flags["api-key"] ?? process.env.DOCCONV_API_KEY;
  const json = Boolean(flags.json);
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}; docconv --help lists the commands`);
    if (command.needsKey && !apiKey)
      throw new UsageError("no API key: pass --api-key or set DOCCONV_API_KEY (a local key: npm run key)");
    const ctx: Context = {
      client: new DocconvClient({ baseUrl: apiUrl, apiKey }),
      flags,
      status: new StatusLine(Boolean(flags.quiet)),
      print: (text, value) => process.stdout.write(`${json ? JSON.stringify(value, null, 2) : text}\n`),
    };
    return await command.run(ctx, rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`docconv: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof JobFailedError) {
      process.stderr.write(
        `${describe(err, apiUrl)}\n  job ${err.job.id} ended ${err.job.status}; its credits were refunded\n`,
      );
      return EXIT.jobFailed;
    }
    if (err instanceof DocconvError) {
      process.stderr.write(`${describe(err, apiUrl)}\n`);
      return EXIT.error;
    }
    process.stderr.write(`docconv: ${(err as Error)?.stack ?? err}\n`);
    return EXIT.error;
  }
}

process.exitCode = await main(process.argv.slice(2));
