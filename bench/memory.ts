// Memory benchmark (issue 11): peak growth over the idle state while
//   (a) a ~95 MB document is uploaded (POST /v1/files), converted to PDF and its output downloaded, and
//   (b) a ~50 MB PDF is uploaded (POST /v1/files),
// of the Worker's own isolate (its V8 heap and ArrayBuffer backing stores, through wrangler dev's inspector: what
// the platform's 128 MB applies to) and of the local workerd process's RSS (which also runs the local D1, R2 and
// queue simulators). The documents are generated here (an ODT holding incompressible PNG images; a PDF of many
// pages, each with its own image), never committed. The benchmark starts its own stack as the e2e tests do
// (test/local-stack.ts), finds the workerd process under that wrangler and samples it every 10 ms; then a
// reference Worker (bench/memory-reference) gives the runtime's floor for the same bodies.
//
//   npm run bench:memory            # BENCH_RUNS (5) runs of each scenario; BENCH_DOC_MB (95), BENCH_PDF_MB (50)
//
// Target: ≤ 16 MB growth of the Worker's isolate for each scenario (bench/README.md, "Memory").
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { strToU8, zipSync } from "fflate";
import { startLocalStack, startWranglerDev, type WranglerDev } from "../test/local-stack.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DOC_MB = Number(process.env.BENCH_DOC_MB ?? 95);
const PDF_MB = Number(process.env.BENCH_PDF_MB ?? 50);
const MB = 1024 * 1024;
const root = new URL("..", import.meta.url).pathname;
const log = (m: string) => process.stderr.write(`[bench:memory] ${m}\n`);

// ---- documents ----------------------------------------------------------------------------------------

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A valid RGB PNG of random pixels: incompressible, stored with deflate level 0. */
function noisePng(side: number): Uint8Array {
  const row = side * 3 + 1;
  const raw = randomBytes(row * side);
  for (let y = 0; y < side; y++) raw[y * row] = 0; // filter type None
  const chunk = (type: string, data: Uint8Array) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, "latin1");
    Buffer.from(data).copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw, { level: 0 })),
    chunk("IEND", new Uint8Array()),
  ]);
}

/** An ODT of `images` pages, each a full-page noise image: ~`mb` MB, nearly all of it incompressible. */
function bigOdt(mb: number): Uint8Array {
  const images = Math.max(1, Math.round(mb / 19));
  const side = Math.round(Math.sqrt((mb * MB) / images / 3));
  const files: Record<string, Uint8Array | [Uint8Array, { level: 0 }]> = {
    mimetype: [strToU8("application/vnd.oasis.opendocument.text"), { level: 0 }],
  };
  let body = "";
  let manifest =
    '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>';
  for (let i = 0; i < images; i++) {
    files[`Pictures/noise${i}.png`] = [noisePng(side), { level: 0 }];
    manifest += `<manifest:file-entry manifest:full-path="Pictures/noise${i}.png" manifest:media-type="image/png"/>`;
    body += `<text:p text:style-name="P1"><draw:frame draw:name="n${i}" text:anchor-type="as-char" svg:width="16cm" svg:height="16cm"><draw:image xlink:href="Pictures/noise${i}.png" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p>`;
  }
  files["content.xml"] = strToU8(
    `<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" office:version="1.3"><office:automatic-styles><style:style style:name="P1" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style></office:automatic-styles><office:body><office:text>${body}</office:text></office:body></office:document-content>`,
  );
  files["META-INF/manifest.xml"] = strToU8(
    `<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">${manifest}</manifest:manifest>`,
  );
  return zipSync(files);
}

/** A PDF of `pages` pages, each drawing its own 8-bit grey noise image: ~`mb` MB. */
function bigPdf(mb: number): { bytes: Buffer; pages: number } {
  const side = 160;
  const pages = Math.round((mb * MB) / (side * side + 400));
  const parts: Buffer[] = [];
  let length = 0;
  const offsets: number[] = [];
  const push = (b: Buffer | string) => {
    const buf = typeof b === "string" ? Buffer.from(b, "latin1") : b;
    parts.push(buf);
    length += buf.length;
  };
  push("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
  const object = (id: number, text: string, stream?: Buffer) => {
    offsets[id] = length;
    if (!stream) return push(`${id} 0 obj\n${text}\nendobj\n`);
    push(`${id} 0 obj\n${text}\nstream\n`);
    push(stream);
    push("\nendstream\nendobj\n");
  };
  // 1 catalog, 2 page tree, then per page: page, content, image.
  const page = (i: number) => 3 + i * 3;
  object(1, "<< /Type /Catalog /Pages 2 0 R >>");
  object(
    2,
    `<< /Type /Pages /Count ${pages} /Kids [${Array.from({ length: pages }, (_, i) => `${page(i)} 0 R`).join(" ")}] >>`,
  );
  const content = Buffer.from("q 200 0 0 200 0 0 cm /Im Do Q");
  for (let i = 0; i < pages; i++) {
    object(
      page(i),
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents ${page(i) + 1} 0 R /Resources << /XObject << /Im ${page(i) + 2} 0 R >> >> >>`,
    );
    object(page(i) + 1, `<< /Length ${content.length} >>`, content);
    object(
      page(i) + 2,
      `<< /Type /XObject /Subtype /Image /Width ${side} /Height ${side} /ColorSpace /DeviceGray /BitsPerComponent 8 /Length ${side * side} >>`,
      randomBytes(side * side),
    );
  }
  const size = page(pages);
  const xref = length;
  let table = `xref\n0 ${size}\n0000000000 65535 f \n`;
  for (let id = 1; id < size; id++) table += `${String(offsets[id]).padStart(10, "0")} 00000 n \n`;
  push(`${table}trailer\n<< /Size ${size} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return { bytes: Buffer.concat(parts), pages };
}

// ---- the stack and its workerd -------------------------------------------------------------------------

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * The workerd processes under wrangler dev: `wrangler dev` runs two, its own proxy (listening on the API
 * port, passing requests through; production has no such hop) and the one running our Worker, D1, R2 and
 * the queues — the one measured.
 */
function findWorkerds(pid: number, apiPort: number): { worker?: number; proxy?: number } {
  const found: { worker?: number; proxy?: number } = {};
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    try {
      if (readFileSync(`/proc/${p}/comm`, "utf8").trim() === "workerd") {
        const args = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
        if (args.includes(`--socket-addr=entry=127.0.0.1:${apiPort}`)) found.proxy = p;
        else found.worker = p;
      }
    } catch {
      /* gone */
    }
    queue.push(...childrenOf(p));
  }
  return found;
}

const rssBytes = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) * 1024;

/** The workerd measured under a `wrangler dev`, and its proxy. */
function workerdsOf(dev: WranglerDev) {
  const { worker: workerd, proxy } = findWorkerds(dev.pid, dev.port);
  if (!workerd) throw new Error("no workerd process running the Worker under wrangler dev");
  return { workerd, proxy };
}

async function startStack() {
  const stack = await startLocalStack({
    name: "bench-memory",
    converterEnv: { CONVERTER_INSTANCES: "1", CONVERTER_MAX_BYTES: String(600 * MB) },
    // The file limit is set explicitly so that a tree whose default is lower (main before issue 11) accepts 95 MB.
    vars: {
      MAX_FILE_SIZE_BYTES: String(100 * MB),
      CONVERSION_TIMEOUT_SECONDS: "300",
      CONVERTER_REQUEST_TIMEOUT_SECONDS: "330",
    },
    key: { user: "bench-memory", credits: 1_000_000, plan: "pro" },
    log,
  });
  try {
    return {
      api: stack.apiUrl,
      key: stack.apiKey,
      ...workerdsOf(stack.wrangler),
      isolate: await isolateMeter(stack.wrangler.inspectorPort),
      stop: stack.stop,
    };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

// ---- measuring -----------------------------------------------------------------------------------------

/**
 * The Worker's own isolate as the platform counts it against its 128 MB: the V8 heap it has committed plus the
 * ArrayBuffer backing stores it holds (read buffers, part buffers, and garbage not yet collected), read through
 * wrangler dev's inspector (CDP Runtime.getHeapUsage). Local D1, R2 and the queues are other isolates of the
 * same process: in its RSS, not in this figure.
 */
async function isolateMeter(inspectorPort: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  // wrangler's inspector proxy refuses a WebSocket without an Origin; Node's WebSocket (undici) takes headers.
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl, {
    headers: { Origin: "https://devtools.devprod.cloudflare.dev" },
  } as unknown as string[]);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", () => reject(new Error("the Worker's inspector refused the connection")), {
      once: true,
    });
  });
  const waiting = new Map<number, (result: any) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  let id = 0;
  const call = <R>(method: string, params: object = {}) =>
    new Promise<R>((resolve) => {
      waiting.set(++id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async bytes(): Promise<number> {
      const usage = await call<{ totalSize: number; backingStorageSize: number }>("Runtime.getHeapUsage");
      return usage.totalSize + usage.backingStorageSize;
    },
    /**
     * A full collection, so a baseline is what the isolate keeps alive, not what the last run left for the GC.
     * workerd does not answer HeapProfiler.collectGarbage; a heap snapshot collects first (its chunks, ~1 MB
     * per MB of heap, are dropped here).
     */
    collectGarbage: () => call("HeapProfiler.takeHeapSnapshot", { reportProgress: false }),
    close: () => socket.close(),
  };
}
type IsolateMeter = Awaited<ReturnType<typeof isolateMeter>>;

/** The idle RSS: the median of 2 s of samples once they stay within 1 MB of each other (at most 15 s). */
async function idleBaseline(pid: number): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const samples: number[] = [];
    for (let i = 0; i < 20; i++) {
      samples.push(rssBytes(pid));
      await new Promise((r) => setTimeout(r, 100));
    }
    samples.sort((a, b) => a - b);
    if (samples.at(-1)! - samples[0]! < MB || Date.now() > deadline) return samples[Math.floor(samples.length / 2)]!;
  }
}

interface Target {
  /** The workerd process that runs the Worker (and local D1, R2, the queues). */
  workerd: number;
  /** wrangler's proxy in front of it. */
  proxy?: number;
  isolate: IsolateMeter;
}

/**
 * Peak growth over the idle baseline while `work` runs, of the process's RSS and of the Worker's isolate (its
 * heap and buffers; the baseline taken after a full collection, so garbage a run leaves is counted in that
 * run), overall and per phase (`work` names its phases through the callback), and the RSS still held a
 * second after.
 */
async function measure<T>(target: Target, work: (phase: (name: string) => void) => Promise<T>) {
  const { workerd: pid, proxy } = target;
  await target.isolate.collectGarbage();
  const baseline = await idleBaseline(pid);
  const isolateBaseline = await target.isolate.bytes();
  const proxyBaseline = proxy ? rssBytes(proxy) : 0;
  let peak = baseline;
  let isolatePeak = isolateBaseline;
  let proxyPeak = proxyBaseline;
  const phases = new Map<string, { rss: number; isolate: number }>();
  let current = "";
  const phase = () =>
    phases.get(current) ?? phases.set(current, { rss: baseline, isolate: isolateBaseline }).get(current)!;
  const sample = () => {
    const rss = rssBytes(pid);
    peak = Math.max(peak, rss);
    if (current) phase().rss = Math.max(phase().rss, rss);
    if (proxy) proxyPeak = Math.max(proxyPeak, rssBytes(proxy));
  };
  const sampleIsolate = async () => {
    const bytes = await target.isolate.bytes();
    isolatePeak = Math.max(isolatePeak, bytes);
    if (current) phase().isolate = Math.max(phase().isolate, bytes);
  };
  const timer = setInterval(sample, 10);
  let sampling = true;
  const isolateSampler = (async () => {
    while (sampling) {
      await sampleIsolate();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const started = performance.now();
  try {
    const result = await work((name) => {
      sample();
      current = name;
    });
    sample();
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    await isolateSampler;
    await new Promise((r) => setTimeout(r, 1000));
    return {
      baseline,
      growth: peak - baseline,
      isolateBaseline,
      isolateGrowth: isolatePeak - isolateBaseline,
      held: rssBytes(pid) - baseline,
      proxyGrowth: proxyPeak - proxyBaseline,
      phases: [...phases.values()].map((p) => ({ rss: p.rss - baseline, isolate: p.isolate - isolateBaseline })),
      result,
      seconds,
    };
  } finally {
    clearInterval(timer);
    sampling = false;
  }
}
type Measured = Awaited<ReturnType<typeof measure>>;

async function call(api: string, key: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${api}${path}`, {
    ...init,
    headers: { "x-api-key": key, ...(init.headers as Record<string, string>) },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Scenario (a): upload (POST /v1/files), convert to PDF (POST /v1/convert with the fileId), download. */
async function convertAndDownload(
  api: string,
  key: string,
  doc: Uint8Array,
  name: string,
  phase: (name: string) => void = () => undefined,
) {
  phase("upload");
  const form = new FormData();
  form.set("file", new Blob([doc]), name);
  const uploaded = await call(api, key, "/v1/files", { method: "POST", body: form });
  if (uploaded.status !== 201) throw new Error(`upload: ${uploaded.status} ${JSON.stringify(uploaded.body)}`);
  phase("convert");
  const submitted = await call(api, key, "/v1/convert", {
    method: "POST",
    body: JSON.stringify({ fileId: uploaded.body.file_id, targetFormat: "pdf" }),
    headers: { "content-type": "application/json" },
  });
  if (submitted.status !== 202) throw new Error(`submit: ${submitted.status} ${JSON.stringify(submitted.body)}`);
  let job: any;
  for (;;) {
    job = (await call(api, key, `/v1/convert/job/${submitted.body.id}`)).body;
    if (["Succeeded", "Failed", "Canceled"].includes(job.status)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (job.status !== "Succeeded") throw new Error(`job ${job.id}: ${job.status} ${JSON.stringify(job.error)}`);
  phase("download");
  const download = await fetch(`${api}/v1/convert/job/${job.id}/download`, { headers: { "x-api-key": key } });
  let downloaded = 0;
  for await (const chunk of download.body!) downloaded += (chunk as Uint8Array).length;
  return { outputBytes: downloaded, pages: job.metrics.outputPages };
}

async function uploadPdf(api: string, key: string, pdf: Uint8Array) {
  const form = new FormData();
  form.set("file", new Blob([pdf]), "many-pages.pdf");
  const res = await call(api, key, "/v1/files", { method: "POST", body: form });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(res.body)}`);
  return { pages: res.body.pages };
}

const mb = (bytes: number) => (bytes / MB).toFixed(1);
const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;

/** A table row: the process and the isolate, overall and (scenario a) per phase. */
function row(label: string, run: number | string, m: Measured): string {
  const byPhase = (pick: (p: { rss: number; isolate: number }) => number) =>
    m.phases.length > 1 ? ` (${m.phases.map((p) => mb(pick(p))).join(" / ")})` : "";
  return `| ${label} | ${run} | ${mb(m.baseline)} | **${mb(m.growth)}**${byPhase((p) => p.rss)} | ${mb(m.isolateBaseline)} | **${mb(m.isolateGrowth)}**${byPhase((p) => p.isolate)} | ${mb(m.held)} | ${mb(m.proxyGrowth)} | ${m.seconds.toFixed(1)} |`;
}

// The converter's stand-in for the reference's cycle: reads the document, answers an output of the size
// docconv's conversion produced (incompressible bytes).
async function startSink(outputBytes: number) {
  const output = randomBytes(outputBytes);
  const server = createServer((req, res) => {
    req.on("data", () => undefined);
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/pdf", "content-length": String(output.length) });
      res.end(output);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) };
}

log(`generating a ~${DOC_MB} MB ODT and a ~${PDF_MB} MB PDF`);
const odt = bigOdt(DOC_MB);
const pdf = bigPdf(PDF_MB);
log(`odt ${mb(odt.length)} MB, pdf ${mb(pdf.bytes.length)} MB (${pdf.pages} pages); starting the stack`);
const loadStart = loadavg()[0]!;
const stack = await startStack();
const rows: string[] = [];
const growth = { a: [] as Measured[], b: [] as Measured[] };
let outputBytes = 0;
try {
  // Warm-up: every code path once with small documents, then each scenario once unmeasured: the first large
  // body a fresh workerd (and its local R2) handles grows it once for good (the reference below shows it
  // for a Worker that only reads the body); the figures are for a process that has served one before.
  await convertAndDownload(
    stack.api,
    stack.key,
    readFileSync(join(root, "test/fixtures/odt-raw-text.odt")),
    "warm.odt",
  );
  await uploadPdf(stack.api, stack.key, readFileSync(join(root, "test/fixtures/pdf-raw-text.pdf")));
  const first = await measure(stack, (phase) => convertAndDownload(stack.api, stack.key, odt, "noise.odt", phase));
  const firstB = await measure(stack, () => uploadPdf(stack.api, stack.key, pdf.bytes));
  rows.push(row("(a) first, warm-up", 0, first), row("(b) first, warm-up", 0, firstB));
  log(rows.join("\n"));
  // Each scenario's runs together, so one scenario's aftermath (a job's last writes) is not in the other's figures.
  for (let run = 1; run <= RUNS; run++) {
    const b = await measure(stack, () => uploadPdf(stack.api, stack.key, pdf.bytes));
    growth.b.push(b);
    rows.push(
      row(`(b) upload ${mb(pdf.bytes.length)} MB PDF, ${pdf.pages} pages (counted: ${b.result.pages})`, run, b),
    );
    log(rows.at(-1)!);
  }
  for (let run = 1; run <= RUNS; run++) {
    const a = await measure(stack, (phase) => convertAndDownload(stack.api, stack.key, odt, "noise.odt", phase));
    growth.a.push(a);
    outputBytes = a.result.outputBytes;
    rows.push(
      row(`(a) upload ${mb(odt.length)} MB ODT, convert to PDF, download ${mb(a.result.outputBytes)} MB`, run, a),
    );
    log(rows.at(-1)!);
  }
} finally {
  stack.isolate.close();
  await stack.stop();
}

// The floor: the same bodies sent to a Worker that only reads them (default reader; reused buffer), writes
// them to R2 in 5 MiB parts, or moves them through R2 as scenario (a) does, on the same runtime.
const reference: string[] = [];
{
  const dir = mkdtempSync(join(tmpdir(), "docconv-bench-memory-reference-"));
  const ref = await startWranglerDev({
    cwd: join(root, "bench/memory-reference"),
    state: join(dir, "state"),
    health: "/",
  });
  const sink = await startSink(outputBytes || 12 * MB);
  const target: Target = { ...workerdsOf(ref), proxy: undefined, isolate: await isolateMeter(ref.inspectorPort) };
  try {
    const bodies = [
      [`${mb(odt.length)} MB`, odt],
      [`${mb(pdf.bytes.length)} MB`, pdf.bytes],
    ] as const;
    for (const mode of ["read", "byob", "r2", "cycle"]) {
      for (const [label, bytes] of mode === "cycle" ? bodies.slice(0, 1) : bodies) {
        const runs: Measured[] = [];
        for (let run = 0; run <= RUNS; run++) {
          const r = await measure(target, async () => {
            const res = await fetch(`${ref.url}/?mode=${mode}&sink=${encodeURIComponent(sink.url)}`, {
              method: "POST",
              body: bytes,
            });
            if (!res.ok) throw new Error(`reference ${mode}: ${res.status} ${await res.text()}`);
            await res.arrayBuffer();
          });
          if (run > 0) runs.push(r); // the first large body, as above
        }
        reference.push(
          `| ${mode} | ${label} | ${runs.map((r) => mb(r.growth)).join(", ")} | **${mb(median(runs.map((r) => r.growth)))}** | ${runs.map((r) => mb(r.isolateGrowth)).join(", ")} | **${mb(median(runs.map((r) => r.isolateGrowth)))}** |`,
        );
        log(reference.at(-1)!);
      }
    }
  } finally {
    target.isolate.close();
    await sink.close();
    await ref.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
const commit = (() => {
  if (process.env.BENCH_COMMIT) return process.env.BENCH_COMMIT;
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
})();
console.log(
  `\n${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC — ${cpus().length} vCPU ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, commit ${commit}, load ${loadStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}\n`,
);
console.log(
  "| scenario | run | idle RSS MB | process RSS growth MB (upload / convert / download) | isolate idle MB | Worker isolate growth MB (upload / convert / download) | RSS held 1 s after MB | wrangler's proxy growth MB | seconds |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of rows) console.log(r);
const medianOf = (list: Measured[], pick: (m: Measured) => number) => mb(median(list.map(pick)));
console.log(
  `\nMedian over ${RUNS} runs — Worker isolate growth: (a) ${medianOf(growth.a, (m) => m.isolateGrowth)} MB, (b) ${medianOf(growth.b, (m) => m.isolateGrowth)} MB (target ≤ 16 MB each); process RSS growth: (a) ${medianOf(growth.a, (m) => m.growth)} MB, (b) ${medianOf(growth.b, (m) => m.growth)} MB.`,
);
console.log(
  "\nReference (bench/memory-reference: a Worker that only reads the body, writes it to R2, or moves it as (a) does):\n",
);
console.log("| reference | body | RSS growth per run MB | median MB | isolate growth per run MB | median MB |");
console.log("| --- | --- | --- | ---: | --- | ---: |");
for (const r of reference) console.log(r);
