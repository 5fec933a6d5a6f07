// Converter benchmark (issue 3): docconv's converter over HTTP against the `libreoffice-convert` npm package (one
// `soffice --convert-to` per call) and unoserver, over the shared corpus, at concurrency 1, 2 and 4 in one run.
// Prints markdown: per tool and concurrency the jobs, failures, median / p95 latency and throughput; the figures
// against the issue's targets; medians per source → target at concurrency 1; every failure with its reason.
//
//   node bench/converter.ts                       # or: npm run bench:converter
//   UNOSERVER_SRC=/work/scratch/unoserver/src node bench/converter.ts
//
// Options: --tools docconv,unoserver,cli   --concurrency 1,2,4
//          (tool docconv-unisolated: docconv with CONVERTER_ISOLATION=none, for the cost of the sandbox:
//          --tools docconv,docconv-unisolated; both together add a paired pass, every job on both servers back
//          to back, --paired-rounds 2 times)
//          --cli-every 5   the CLI converts 1 document in 5 of each source → target pair (it costs ~2 s a call)
//          --skip a,b      leave out corpus paths containing any of these substrings (e.g. docx/comments.docx)
//          --corpus DIR    default ../shared/corpus beside the repository
// Env:     UNOSERVER_SRC      unoserver's `src/` (MIT, from github.com/unoconv/unoserver, kept OUTSIDE this
//                            repository, never committed); it must hold an `unoserver-<version>.dist-info/METADATA`
//                            because unoserver reads its version with importlib.metadata. Unset: skipped, with a note.
//          UNOSERVER_PYTHON   a Python with LibreOffice's `uno` module (default /usr/bin/python3, Debian's python3-uno)
//          UNOSERVER_SERVERS  unoserver processes (default: CPU count, as unoserver's docs advise one per core)
//
// How each tool runs, so that the clock covers the same thing — bytes in hand → converted bytes in hand:
// - docconv: `node container/src/server.ts` on a free port with its defaults (pool = CPU count); POST /convert with
//   the raw body over a keep-alive connection; timed around fetch + reading the body.
// - cli: `libreoffice-convert`'s convertWithOptions (it writes the input to a temp dir and runs `soffice
//   --convert-to` with a fresh `-env:UserInstallation` temp profile per call, so concurrent calls never share a
//   profile); timed around the call.
// - unoserver: N × `python3 -m unoserver.server` (each its own soffice and temp profile); one long-lived Python
//   driver per client worker holds a `UnoClient` and times `convert(indata=…, convert_to=…)` (perf_counter), so
//   Python's start-up is outside the clock. Worker w talks to server w mod N; each server converts one at a time.
// Same filters everywhere: txt = "Text (encoded)" UTF8,LF; html = "HTML (StarWriter)" EmbedImages; csv = the
// CSV filter with docconv's options; png = the first page/slide (docconv with pages=1, the others' default).
// Passes are interleaved (for each concurrency, every tool in turn) so background load on a shared machine falls
// on all tools alike. Each tool gets a warm-up pass (one job per source → target pair) first.

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism, freemem, loadavg, tmpdir, totalmem } from "node:os";
import { join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import libreofficeConvert from "libreoffice-convert";

const REPO = new URL("..", import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    tools: { type: "string", default: "docconv,unoserver,cli" },
    concurrency: { type: "string", default: "1,2,4" },
    "cli-every": { type: "string", default: "5" },
    skip: { type: "string", default: "" },
    corpus: { type: "string", default: process.env.CORPUS ?? join(REPO, "../shared/corpus") },
    "paired-rounds": { type: "string", default: "2" },
  },
});
const TOOLS = values
  .tools!.split(",")
  .map((t) => t.trim())
  .filter(Boolean);
const LEVELS = values.concurrency!.split(",").map(Number);
const CLI_EVERY = Math.max(1, Number(values["cli-every"]));
const SKIP = values
  .skip!.split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const CORPUS = values.corpus!;
const PAIRED_ROUNDS = Math.max(1, Number(values["paired-rounds"]));

// Main targets per source (issue 3's matrix); pdf sources are left out: docconv renders them with pdftoppm and
// never calls LibreOffice, so they would not compare LibreOffice front ends.
const TARGETS: Record<string, string[]> = {
  docx: ["pdf", "txt", "html"],
  doc: ["pdf", "docx"],
  odt: ["pdf", "docx"],
  rtf: ["pdf", "docx"],
  xlsx: ["pdf", "csv"],
  xls: ["pdf", "csv"],
  ods: ["pdf", "csv"],
  csv: ["pdf", "xlsx"],
  pptx: ["pdf", "png"],
  ppt: ["pdf", "png"],
  odp: ["pdf", "png"],
};

const CSV_OPTIONS = "44,34,76,1,,0,false,true,true,false,false";
/** Export filter and options per target, for the tools that take them by name. */
const EXPORT: Record<string, { filter?: string; options?: string }> = {
  txt: { filter: "Text (encoded)", options: "UTF8,LF" },
  html: { filter: "HTML (StarWriter)", options: "EmbedImages" },
  csv: { filter: "Text - txt - csv (StarCalc)", options: CSV_OPTIONS },
  docx: { filter: "MS Word 2007 XML" },
  xlsx: { filter: "Calc MS Excel 2007 XML" },
};

interface Job {
  id: number;
  path: string;
  name: string; // relative to the corpus
  ext: string;
  target: string;
  pair: string;
  bytes: Buffer;
}

interface Outcome {
  job: Job;
  ok: boolean;
  ms: number;
  error?: string;
  /** docconv: X-Conversion-Ms and X-Queue-Ms. */
  serverMs?: number;
  queueMs?: number;
}

interface Tool {
  name: string;
  label: string;
  /** Jobs this tool runs (the CLI runs a sample). */
  jobs: Job[];
  convert(job: Job, worker: number): Promise<Outcome>;
  /** Before each pass: wait until the tool is back at full strength (e.g. after a crash). */
  settle?(): Promise<void>;
  stop(): Promise<void>;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------- corpus

function corpusJobs(): Job[] {
  if (!existsSync(CORPUS)) throw new Error(`no corpus at ${CORPUS} (set --corpus or CORPUS)`);
  const jobs: Job[] = [];
  for (const ext of Object.keys(TARGETS)) {
    const dir = join(CORPUS, ext);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!file.toLowerCase().endsWith(`.${ext}`)) continue;
      const path = join(dir, file);
      const name = relative(CORPUS, path);
      if (SKIP.some((s) => name.includes(s))) continue;
      const bytes = readFileSync(path);
      if (bytes.length === 0) continue;
      for (const target of TARGETS[ext]!) {
        jobs.push({ id: jobs.length, path, name, ext, target, pair: `${ext}→${target}`, bytes });
      }
    }
  }
  return jobs;
}

/** 1 document in `every` of each pair (at least one), keeping the pair mix of the full set. */
function sample(jobs: Job[], every: number): Job[] {
  const seen = new Map<string, number>();
  return jobs.filter((job) => {
    const n = seen.get(job.pair) ?? 0;
    seen.set(job.pair, n + 1);
    return n % every === 0;
  });
}

/** One job per pair, for warm-up. */
function onePerPair(jobs: Job[]): Job[] {
  const seen = new Set<string>();
  return jobs.filter((job) => !seen.has(job.pair) && seen.add(job.pair));
}

/** Does the output look like the target? (Text targets may be empty: an empty sheet or document.) */
function checkOutput(target: string, out: Uint8Array): string | undefined {
  const head = Buffer.from(out.subarray(0, 8));
  const magic: Record<string, Buffer> = {
    pdf: Buffer.from("%PDF-"),
    png: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    docx: Buffer.from("PK\u0003\u0004"),
    xlsx: Buffer.from("PK\u0003\u0004"),
  };
  const want = magic[target];
  if (want && !head.subarray(0, want.length).equals(want))
    return `output is not ${target} (starts ${head.toString("hex")}, ${out.length} bytes)`;
  return undefined;
}

// ------------------------------------------------------------------------------------------------------- helpers

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once("exit", () => r()));
}

/** Kills a detached child's whole process group: TERM, then KILL after `graceMs`. */
async function killGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {}
  await Promise.race([exited(child), sleep(graceMs)]);
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {}
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "—");
const log = (text: string) => process.stderr.write(`[bench] ${text}\n`);

// ------------------------------------------------------------------------------------------------------- docconv

/** docconv as configured (isolation: the best this machine allows), or with CONVERTER_ISOLATION=none. */
async function startDocconv(jobs: Job[], unisolated = false): Promise<Tool> {
  const port = await freePort();
  const temp = mkdtempSync(join(tmpdir(), "bench-docconv-"));
  chmodSync(temp, 0o711); // the sandbox uids traverse it to their cells
  const secret = randomBytes(16).toString("hex");
  const child = spawn(process.execPath, [join(REPO, "container/src/server.ts")], {
    cwd: REPO,
    env: {
      ...process.env,
      CONVERTER_PORT: String(port),
      CONVERTER_HOST: "127.0.0.1",
      CONVERTER_TEMP_DIR: temp,
      CONVERTER_LOG_LEVEL: "info",
      CONVERTER_SECRET: secret,
      ...(unisolated ? { CONVERTER_ISOLATION: "none" } : {}),
    },
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  const warnings: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => warnings.push(line));
  const name = unisolated ? "docconv-unisolated" : "docconv";
  const base = `http://127.0.0.1:${port}`;

  async function health(): Promise<any> {
    try {
      const res = await fetch(`${base}/health`);
      return await res.json();
    } catch {
      return undefined;
    }
  }
  /** Every instance warm and none restarting. */
  async function settle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const h = await health();
      if (h?.status === "ok" && h.instances.ready === h.instances.total && h.instances.starting === 0) return;
      if (child.exitCode !== null) throw new Error(`docconv exited: ${warnings.slice(-5).join("\n")}`);
      if (Date.now() > deadline) throw new Error(`docconv not ready after ${timeoutMs} ms: ${JSON.stringify(h)}`);
      await sleep(100);
    }
  }
  const started = performance.now();
  await settle(120_000);
  const startMs = performance.now() - started;

  const isolation = (await health())?.isolation ?? "?";
  const tool: Tool = {
    name,
    label: `docconv (HTTP, warm pool, isolation ${isolation})`,
    jobs,
    notes: [],
    settle: () => settle(),
    async convert(job) {
      const query = new URLSearchParams({ to: job.target, from: job.ext });
      if (job.target === "png") query.set("pages", "1");
      const t0 = performance.now();
      try {
        const res = await fetch(`${base}/convert?${query}`, {
          method: "POST",
          headers: { "content-type": "application/octet-stream", "x-converter-secret": secret },
          body: new Uint8Array(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength) as Uint8Array<ArrayBuffer>,
        });
        const body = new Uint8Array(await res.arrayBuffer());
        const ms = performance.now() - t0;
        const serverMs = Number(res.headers.get("x-conversion-ms") ?? NaN);
        const queueMs = Number(res.headers.get("x-queue-ms") ?? NaN);
        if (res.status !== 200) {
          let detail = Buffer.from(body).toString("utf8");
          try {
            const e = JSON.parse(detail);
            detail = `${res.status} ${e.error}: ${e.detail}`;
          } catch {}
          return { job, ok: false, ms, error: detail.slice(0, 240) };
        }
        const wrong = checkOutput(job.target, body);
        return { job, ok: !wrong, ms, error: wrong, serverMs, queueMs };
      } catch (error) {
        return { job, ok: false, ms: performance.now() - t0, error: String(error).slice(0, 240) };
      }
    },
    async stop() {
      const h = await health();
      if (h) {
        tool.notes.push(
          `${name} /health at the end: ${h.conversions} conversions, ${h.crashed} crashed, ${h.recycled} recycled, ${h.timedOut} timed out.`,
        );
      }
      const crashes = warnings.filter((w) => w.includes("instance crashed during a conversion")).length;
      if (crashes)
        tool.notes.push(
          `docconv logged ${crashes} instance crash(es) (soffice exit codes: ${[...new Set(warnings.map((w) => /exited with code (-?\d+)/.exec(w)?.[1]).filter(Boolean))].join(", ")}).`,
        );
      child.kill("SIGTERM");
      await Promise.race([exited(child), sleep(10_000)]);
      await killGroup(child, 0);
      rmSync(temp, { recursive: true, force: true });
    },
  };
  // Instance start (bridge + soffice + warm-up), from the server's "instance ready" lines: the first starts alone.
  const starts = warnings
    .map((w) => /"message":"instance ready".*?"ms":(\d+)/.exec(w)?.[1])
    .filter(Boolean)
    .map(Number);
  tool.notes.push(
    `${name} (isolation ${isolation}): ready (every instance warm) ${fmt(startMs / 1000, 1)} s after spawn; instance starts ${starts.map((ms) => fmt(ms)).join(", ")} ms.`,
  );
  return tool;
}

// ----------------------------------------------------------------------------------------------------------- CLI

async function startCli(jobs: Job[]): Promise<Tool> {
  const temp = mkdtempSync(join(tmpdir(), "bench-cli-"));
  const convert = (input: Buffer, format: string, fileName: string) =>
    new Promise<Buffer>((resolve, reject) =>
      libreofficeConvert.convertWithOptions(
        input,
        format,
        undefined,
        { fileName, tmpOptions: { tmpdir: temp }, asyncOptions: { times: 3, interval: 200 } },
        (error, data) => (error ? reject(error) : resolve(data)),
      ),
    );
  return {
    name: "cli",
    label: "libreoffice-convert (soffice per call)",
    jobs,
    notes: [
      "libreoffice-convert: `soffice --convert-to` per call, each call with its own fresh `-env:UserInstallation` temp profile (the package always does this; no option needed).",
    ],
    async convert(job) {
      // The filter goes into `format` ("txt:Text (encoded):UTF8,LF"): the package's own `filter` argument wraps a
      // name with spaces in literal quotes, which execFile passes on to soffice verbatim.
      const spec = EXPORT[job.target];
      const format = spec?.filter
        ? `${job.target}:${spec.filter}${spec.options ? `:${spec.options}` : ""}`
        : job.target;
      const t0 = performance.now();
      try {
        const out = await convert(job.bytes, format, `input.${job.ext}`);
        const ms = performance.now() - t0;
        const wrong = checkOutput(job.target, out);
        return { job, ok: !wrong, ms, error: wrong };
      } catch (error) {
        const text = String((error as Error).message ?? error).replace(/\s+/g, " ");
        return { job, ok: false, ms: performance.now() - t0, error: text.slice(0, 240) };
      }
    },
    async stop() {
      rmSync(temp, { recursive: true, force: true });
    },
  };
}

// ----------------------------------------------------------------------------------------------------- unoserver

// The driver is ours: it only uses unoserver's public client API.
const DRIVER = `
import json, sys, time, xmlrpc.client
port = sys.argv[1]
deadline = time.time() + 120
while True:
    try:
        with xmlrpc.client.ServerProxy("http://127.0.0.1:%s" % port, allow_none=True) as proxy:
            proxy.info()
        break
    except Exception as e:
        if time.time() > deadline:
            print(json.dumps({"ready": False, "error": str(e)}), flush=True)
            sys.exit(1)
        time.sleep(0.2)
from unoserver.client import UnoClient
client = UnoClient(server="127.0.0.1", port=port)
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    with open(job["path"], "rb") as f:
        data = f.read()
    started = time.perf_counter()
    try:
        out = client.convert(indata=data, convert_to=job["to"], filtername=job.get("filter"),
                             filter_options=job.get("options") or [], infiltername=job.get("infilter"))
        ms = (time.perf_counter() - started) * 1000
        print(json.dumps({"id": job["id"], "ok": True, "ms": ms, "head": (out or b"")[:8].hex(), "size": len(out or b"")}), flush=True)
    except Exception as e:
        ms = (time.perf_counter() - started) * 1000
        print(json.dumps({"id": job["id"], "ok": False, "ms": ms, "error": ("%s: %s" % (type(e).__name__, e))[:400]}), flush=True)
`;

class Driver {
  readonly child: ChildProcess;
  private waiting = new Map<number, (reply: any) => void>();
  readonly ready: Promise<void>;

  constructor(python: string, src: string, script: string, port: number) {
    this.child = spawn(python, [script, String(port)], {
      env: { ...process.env, PYTHONPATH: src },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let markReady!: () => void;
    let fail!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => ((markReady = resolve), (fail = reject)));
    const stderr: string[] = [];
    createInterface({ input: this.child.stderr! }).on("line", (line) => stderr.push(line));
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      const msg = JSON.parse(line);
      if ("ready" in msg) return msg.ready ? markReady() : fail(new Error(`unoserver driver: ${msg.error}`));
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
    this.child.once("exit", (code) => {
      fail(new Error(`unoserver driver exited (${code}): ${stderr.slice(-5).join(" | ")}`));
      for (const [id, resolve] of this.waiting)
        resolve({ id, ok: false, ms: NaN, error: `driver exited: ${stderr.slice(-3).join(" | ")}` });
      this.waiting.clear();
    });
  }

  send(job: Record<string, unknown> & { id: number }): Promise<any> {
    return new Promise((resolve) => {
      this.waiting.set(job.id, resolve);
      this.child.stdin!.write(`${JSON.stringify(job)}\n`);
    });
  }
}

async function startUnoserver(jobs: Job[], maxConcurrency: number): Promise<Tool | string> {
  const src = process.env.UNOSERVER_SRC;
  if (!src) return "unoserver skipped: set UNOSERVER_SRC to unoserver's src/ (a checkout outside this repository).";
  if (!existsSync(join(src, "unoserver/server.py")))
    return `unoserver skipped: no unoserver/server.py under UNOSERVER_SRC=${src}.`;
  const distInfo = readdirSync(src).find((f) => /^unoserver-.*\.dist-info$/.test(f));
  if (!distInfo) {
    return `unoserver skipped: unoserver reads its version with importlib.metadata; add ${src}/unoserver-<version>.dist-info/METADATA ("Metadata-Version: 2.1", "Name: unoserver", "Version: <version>").`;
  }
  const python = process.env.UNOSERVER_PYTHON ?? "/usr/bin/python3";
  const count = Number(process.env.UNOSERVER_SERVERS ?? availableParallelism());
  const temp = mkdtempSync(join(tmpdir(), "bench-unoserver-"));
  const script = join(temp, "driver.py");
  writeFileSync(script, DRIVER);
  const notes: string[] = [];

  interface Server {
    port: number;
    unoPort: number;
    child: ChildProcess;
    restarts: number;
  }
  const servers: Server[] = [];
  let stopping = false;
  const launch = (server: Server) => {
    // unoserver's defaults otherwise: a fresh temp user profile per server, no conversion timeout, no recycling.
    server.child = spawn(
      python,
      [
        "-m",
        "unoserver.server",
        "--interface",
        "127.0.0.1",
        "--port",
        String(server.port),
        "--uno-port",
        String(server.unoPort),
        "--quiet",
      ],
      {
        cwd: temp,
        env: { ...process.env, PYTHONPATH: src },
        stdio: ["ignore", "ignore", "ignore"],
        detached: true,
      },
    );
    // unoserver expects a supervisor to restart it when LibreOffice dies; we are that supervisor.
    server.child.once("exit", (code, signal) => {
      if (stopping) return;
      server.restarts++;
      log(`unoserver on :${server.port} exited (${code ?? signal}); restarting it`);
      void killGroup(server.child, 0).then(() => launch(server));
    });
  };
  for (let i = 0; i < count; i++) {
    const server: Server = {
      port: await freePort(),
      unoPort: await freePort(),
      child: undefined as unknown as ChildProcess,
      restarts: 0,
    };
    launch(server);
    servers.push(server);
  }
  const started = performance.now();
  const drivers = Array.from(
    { length: maxConcurrency },
    (_, w) => new Driver(python, src, script, servers[w % count]!.port),
  );
  await Promise.all(drivers.map((d) => d.ready));
  notes.push(
    `unoserver ${distInfo.replace(/^unoserver-|\.dist-info$/g, "")}: ${count} server(s), each its own soffice (ready ${fmt((performance.now() - started) / 1000, 1)} s after spawn; unoserver sleeps 7 s by design); worker w → server w mod ${count}; one Python driver per worker, started before the clock.`,
  );

  return {
    name: "unoserver",
    label: `unoserver (${count} server${count > 1 ? "s" : ""})`,
    jobs,
    notes,
    async convert(job, worker) {
      const spec = EXPORT[job.target];
      const request: Record<string, unknown> & { id: number } = {
        id: job.id * 100 + worker,
        path: job.path,
        to: job.target,
      };
      if (spec?.filter && job.target !== "csv" && job.target !== "docx" && job.target !== "xlsx")
        request.filter = spec.filter;
      if (spec?.options) request.options = [spec.options];
      // indata travels without a file name, so a CSV would be detected as Writer text: name the import filter.
      if (job.ext === "csv") request.infilter = "Text - txt - csv (StarCalc)";
      const t0 = performance.now();
      const reply = await drivers[worker]!.send(request);
      const ms = Number.isFinite(reply.ms) ? reply.ms : performance.now() - t0;
      if (!reply.ok) return { job, ok: false, ms, error: String(reply.error).replace(/\s+/g, " ").slice(0, 240) };
      const head = Buffer.from(reply.head, "hex");
      const wrong = checkOutput(job.target, head.length ? head : new Uint8Array());
      return { job, ok: !wrong, ms, error: wrong };
    },
    async settle() {
      // A restarted server needs its 7 s before it answers; the drivers' next call would fail meanwhile.
      for (const server of servers) {
        const deadline = Date.now() + 60_000;
        for (;;) {
          try {
            const res = await fetch(`http://127.0.0.1:${server.port}/RPC2`, {
              method: "POST",
              headers: { "content-type": "text/xml" },
              body: "<?xml version='1.0'?><methodCall><methodName>system.listMethods</methodName><params/></methodCall>",
            });
            await res.text();
            if (res.ok) break;
          } catch {}
          if (Date.now() > deadline) break;
          await sleep(200);
        }
      }
    },
    async stop() {
      stopping = true;
      const restarts = servers.reduce((n, s) => n + s.restarts, 0);
      if (restarts) notes.push(`unoserver: ${restarts} server restart(s) after LibreOffice died.`);
      for (const d of drivers) d.child.stdin!.end();
      await Promise.all(servers.map((s) => killGroup(s.child, 5000)));
      await Promise.all(drivers.map((d) => Promise.race([exited(d.child), sleep(2000)])));
      rmSync(temp, { recursive: true, force: true });
    },
  };
}

// -------------------------------------------------------------------------------------------------------- passes

interface Pass {
  tool: string;
  concurrency: number;
  outcomes: Outcome[];
  wallMs: number;
  load: number;
}

async function runPass(tool: Tool, jobs: Job[], concurrency: number): Promise<Pass> {
  await tool.settle?.();
  const outcomes: Outcome[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        outcomes.push(await tool.convert(job, worker));
      }
    }),
  );
  return { tool: tool.name, concurrency, outcomes, wallMs: performance.now() - t0, load: loadavg()[0]! };
}

/**
 * The isolation's cost measured fairly on a shared machine: every job converted by both docconv servers back to
 * back (the order alternating), one at a time, so background load falls on both alike. `repeat` rounds.
 */
async function pairedPass(
  isolated: Tool,
  open: Tool,
  jobs: Job[],
  repeat: number,
): Promise<{ isolated: Outcome[]; open: Outcome[]; load: number }> {
  await isolated.settle?.();
  await open.settle?.();
  const result = { isolated: [] as Outcome[], open: [] as Outcome[], load: 0 };
  let i = 0;
  for (let round = 0; round < repeat; round++) {
    for (const job of jobs) {
      const order = i++ % 2 ? [isolated, open] : [open, isolated];
      for (const tool of order) (tool === isolated ? result.isolated : result.open).push(await tool.convert(job, 0));
    }
  }
  result.load = loadavg()[0]!;
  return result;
}

function summary(pass: Pass) {
  const ms = pass.outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const failed = pass.outcomes.filter((o) => !o.ok).length;
  return {
    jobs: pass.outcomes.length,
    failed,
    median: median(ms),
    p95: percentile(ms, 95),
    throughput: pass.outcomes.length / (pass.wallMs / 1000),
  };
}

// ---------------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const runStarted = performance.now();
  const load0 = loadavg();
  const all = corpusJobs();
  const cliJobs = sample(all, CLI_EVERY);
  const maxConcurrency = Math.max(...LEVELS);
  log(
    `${all.length} jobs (${new Set(all.map((j) => j.name)).size} documents)${TOOLS.includes("cli") ? `; the CLI runs ${cliJobs.length} of them` : ""}`,
  );

  const tools: Tool[] = [];
  const skipped: string[] = [];
  try {
    for (const name of TOOLS) {
      log(`starting ${name}`);
      if (name === "docconv") tools.push(await startDocconv(all));
      else if (name === "docconv-unisolated") tools.push(await startDocconv(all, true));
      else if (name === "cli") tools.push(await startCli(cliJobs));
      else if (name === "unoserver") {
        const tool = await startUnoserver(all, maxConcurrency);
        if (typeof tool === "string") skipped.push(tool);
        else tools.push(tool);
      } else throw new Error(`unknown tool ${name}`);
    }
    for (const note of skipped) log(note);

    for (const tool of tools) {
      const warm = tool.name === "cli" ? tool.jobs.slice(0, 3) : onePerPair(tool.jobs);
      log(`warm-up ${tool.name}: ${warm.length} jobs`);
      await runPass(tool, warm, 1);
    }
    const passes: Pass[] = [];
    const isolated = tools.find((t) => t.name === "docconv");
    const open = tools.find((t) => t.name === "docconv-unisolated");
    let paired: Awaited<ReturnType<typeof pairedPass>> | undefined;
    if (isolated && open) {
      log(`paired isolation pass: ${all.length} jobs × ${PAIRED_ROUNDS} on both servers, back to back`);
      paired = await pairedPass(isolated, open, all, PAIRED_ROUNDS);
    }
    for (const c of LEVELS) {
      for (const tool of tools) {
        log(`measuring ${tool.name} at concurrency ${c} (${tool.jobs.length} jobs)`);
        const pass = await runPass(tool, tool.jobs, c);
        const s = summary(pass);
        log(
          `  ${fmt(pass.wallMs / 1000, 1)} s, median ${fmt(s.median)} ms, p95 ${fmt(s.p95)} ms, ${s.failed} failed, load ${pass.load.toFixed(1)}`,
        );
        passes.push(pass);
      }
    }
    report(tools, passes, skipped, all, cliJobs, load0, performance.now() - runStarted, paired);
  } finally {
    for (const tool of tools) await tool.stop().catch((e) => log(`stopping ${tool.name}: ${e}`));
  }
  for (const tool of tools) for (const note of tool.notes) console.log(`- ${note}`);
}

function report(
  tools: Tool[],
  passes: Pass[],
  skipped: string[],
  all: Job[],
  cliJobs: Job[],
  load0: number[],
  totalMs: number,
  paired?: { isolated: Outcome[]; open: Outcome[]; load: number },
): void {
  const out: string[] = [];
  const docs = new Set(all.map((j) => j.name)).size;
  out.push(
    `Run ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${availableParallelism()} CPUs, ${fmt(totalmem() / 2 ** 30, 1)} GiB (${fmt(freemem() / 2 ** 30, 1)} free), Node ${process.versions.node}; ` +
      `load average ${load0.map((l) => l.toFixed(1)).join(" ")} at the start, ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")} at the end; whole run ${fmt(totalMs / 1000)} s.`,
    "",
    `${all.length} jobs: ${docs} corpus documents × their main targets (${Object.entries(TARGETS)
      .map(([s, t]) => `${s}→${t.join("/")}`)
      .join(", ")})` +
      (SKIP.length ? `, skipping ${SKIP.join(", ")}` : "") +
      (tools.some((t) => t.name === "cli")
        ? `. The CLI runs ${cliJobs.length} of them (1 in ${CLI_EVERY} of each pair)`
        : "") +
      ". One measured pass per tool and concurrency.",
    "",
    "| tool | concurrency | jobs | failed | median ms | p95 ms | throughput jobs/s | × concurrency 1 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const tool of tools) {
    const base = passes.find((p) => p.tool === tool.name && p.concurrency === LEVELS[0]);
    for (const pass of passes.filter((p) => p.tool === tool.name)) {
      const s = summary(pass);
      const speedup = base ? s.throughput / summary(base).throughput : NaN;
      out.push(
        `| ${tool.label} | ${pass.concurrency} | ${s.jobs} | ${s.failed} | ${fmt(s.median)} | ${fmt(s.p95)} | ${fmt(s.throughput, 2)} | ${fmt(speedup, 2)} |`,
      );
    }
  }

  // Targets: latencies compared on the same jobs, those both tools converted (a failure's time says nothing).
  const pass = (tool: string, c: number) => passes.find((p) => p.tool === tool && p.concurrency === c);
  const okIds = (p: Pass) => new Set(p.outcomes.filter((o) => o.ok).map((o) => o.job.id));
  const medianOn = (p: Pass, ids: Set<number>) => median(p.outcomes.filter((o) => ids.has(o.job.id)).map((o) => o.ms));
  out.push("", "| target | measured | met? |", "| --- | ---: | :---: |");
  const c1 = LEVELS[0]!;
  for (const c of LEVELS) {
    const d = pass("docconv", c);
    if (!d) continue;
    for (const [name, limit] of [
      ["unoserver", 0.7],
      ["cli", 0.25],
    ] as const) {
      const other = pass(name, c);
      if (!other) continue;
      const theirs = okIds(other);
      const both = new Set([...okIds(d)].filter((id) => theirs.has(id)));
      const r = medianOn(d, both) / medianOn(other, both);
      const who = name === "cli" ? "the CLI's" : "unoserver's";
      out.push(
        `| docconv median ≤ ${limit} × ${who} (c=${c}, the ${both.size} jobs both converted) | ${fmt(r, 2)} × (${fmt(medianOn(d, both))} vs ${fmt(medianOn(other, both))} ms) | ${r <= limit ? "yes" : "no"} |`,
      );
    }
  }
  if (paired) {
    const ok = (o: Outcome) => o.ok;
    const both = paired.isolated.map((o, i) => [o, paired.open[i]!] as const).filter(([a, b]) => ok(a) && ok(b));
    const mIso = median(both.map(([a]) => a.ms));
    const mOpen = median(both.map(([, b]) => b.ms));
    const cost = mIso / mOpen - 1;
    out.push(
      `| isolation costs ≤ 10 % of the median: paired, c=1 (${both.length} jobs, each on both servers back to back, load ${paired.load.toFixed(1)}) | ${fmt(cost * 100, 1)} % (${fmt(mIso)} vs ${fmt(mOpen)} ms; median of the per-job differences ${fmt(median(both.map(([a, b]) => a.ms - b.ms)), 1)} ms) | ${cost <= 0.1 ? "yes" : "no"} |`,
    );
  }
  for (const c of LEVELS) {
    const d = pass("docconv", c);
    const open = pass("docconv-unisolated", c);
    if (!d || !open) continue;
    const theirs = okIds(open);
    const both = new Set([...okIds(d)].filter((id) => theirs.has(id)));
    const cost = medianOn(d, both) / medianOn(open, both) - 1;
    out.push(
      `| isolation costs ≤ 10 % of the median: separate passes (c=${c}, the ${both.size} jobs both converted; load moves between passes) | ${fmt(cost * 100, 1)} % (${fmt(medianOn(d, both))} vs ${fmt(medianOn(open, both))} ms) | ${cost <= 0.1 ? "yes" : "no"} |`,
    );
  }
  const d1 = pass("docconv", 1);
  const d2 = pass("docconv", 2);
  if (d1 && d2) {
    const r = summary(d2).throughput / summary(d1).throughput;
    out.push(`| docconv throughput at c=2 ≥ 1.7 × c=1 | ${fmt(r, 2)} × | ${r >= 1.7 ? "yes" : "no"} |`);
  }
  for (const tool of tools) {
    const failed = passes.filter((p) => p.tool === tool.name).reduce((n, p) => n + summary(p).failed, 0);
    const total = passes.filter((p) => p.tool === tool.name).reduce((n, p) => n + p.outcomes.length, 0);
    out.push(`| zero failures: ${tool.name} | ${failed} of ${total} | ${failed === 0 ? "yes" : "no"} |`);
  }

  // Medians per pair at the first concurrency level.
  const pairs = [...new Set(all.map((j) => j.pair))];
  out.push("", `Median ms per source → target at concurrency ${c1} (jobs in brackets):`, "");
  out.push(`| pair | ${tools.map((t) => t.name).join(" | ")} |`, `| --- | ${tools.map(() => "---:").join(" | ")} |`);
  for (const pair of pairs) {
    const cells = tools.map((t) => {
      const o = pass(t.name, c1)?.outcomes.filter((x) => x.job.pair === pair) ?? [];
      return o.length ? `${fmt(median(o.map((x) => x.ms)))} (${o.length})` : "—";
    });
    out.push(`| ${pair} | ${cells.join(" | ")} |`);
  }
  // Where docconv's time goes: the server's own clock (end of upload → response) and its queue wait.
  const docconvPasses = passes.filter((p) => p.tool === "docconv");
  if (docconvPasses.length) {
    out.push(
      "",
      "docconv's time per request, medians in ms (X-Conversion-Ms: end of upload → response; X-Queue-Ms: waiting for an instance; the rest is HTTP, upload and download):",
      "",
    );
    out.push(
      "| concurrency | client | X-Conversion-Ms | of which X-Queue-Ms | client − X-Conversion-Ms |",
      "| ---: | ---: | ---: | ---: | ---: |",
    );
    for (const p of docconvPasses) {
      const ok = p.outcomes.filter((o) => o.ok && Number.isFinite(o.serverMs));
      out.push(
        `| ${p.concurrency} | ${fmt(median(ok.map((o) => o.ms)))} | ${fmt(median(ok.map((o) => o.serverMs!)))} | ${fmt(median(ok.map((o) => o.queueMs!)))} | ${fmt(median(ok.map((o) => o.ms - o.serverMs!)), 1)} |`,
      );
    }
  }

  // Failures, grouped by tool, document and target.
  const failures = new Map<string, { tool: string; job: Job; levels: number[]; error: string }>();
  for (const p of passes) {
    for (const o of p.outcomes.filter((x) => !x.ok)) {
      const key = `${p.tool}|${o.job.name}|${o.job.target}|${o.error}`;
      const f = failures.get(key) ?? { tool: p.tool, job: o.job, levels: [], error: o.error ?? "" };
      f.levels.push(p.concurrency);
      failures.set(key, f);
    }
  }
  out.push("", failures.size ? "Failures:" : "Failures: none.", "");
  if (failures.size) {
    out.push("| tool | document | target | at concurrency | reason |", "| --- | --- | --- | --- | --- |");
    for (const f of failures.values())
      out.push(
        `| ${f.tool} | ${f.job.name} | ${f.job.target} | ${f.levels.join(", ")} | ${f.error.replace(/\|/g, "\\|")} |`,
      );
  }
  for (const note of skipped) out.push("", `Note: ${note}`);
  console.log(out.join("\n"));
}

await main();
