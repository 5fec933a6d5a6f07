// Renditions benchmark: cache-hit latency of POST /v1/files/{id}/convert and POST /v1/runs/{id}/export
// (autocannon, concurrency 1 and 32), and what a cache miss adds over the converter's own conversion time.
//
//   PORT=8797 CONVERTER_PORT=8097 npm run dev            # a stack of your own
//   npm run key -- --credits 100000 --plan pro           # its last line is the key
//   DOCCONV_KEY=sk_test_… npm exec -- node bench/renditions.ts
//
// Env: DOCCONV_KEY (required), BENCH_API (http://127.0.0.1:8797), BENCH_CONVERTER (http://127.0.0.1:8097),
// BENCH_CONVERTER_SECRET (default: CONVERTER_SECRET from .dev.vars, which npm run dev writes),
// BENCH_SECONDS (10 per hit run), BENCH_MISSES (20 paired miss samples), BENCH_DOC (test/fixtures/docx-header-footer.docx).
// `npm exec` puts node_modules/.bin first on PATH, so this runs on the project's Node 22 (type stripping).
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { basename } from "node:path";
import autocannon from "autocannon";

const API = process.env.BENCH_API ?? "http://127.0.0.1:8797";
const CONVERTER = process.env.BENCH_CONVERTER ?? "http://127.0.0.1:8097";
const KEY = process.env.DOCCONV_KEY ?? "";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const MISSES = Number(process.env.BENCH_MISSES ?? 20);
const DOC = process.env.BENCH_DOC ?? "test/fixtures/docx-header-footer.docx";
if (!KEY) throw new Error("set DOCCONV_KEY (npm run key -- --credits 100000 --plan pro)");
const CONVERTER_SECRET =
  process.env.BENCH_CONVERTER_SECRET ??
  /^CONVERTER_SECRET=(.*)$/m.exec(existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "")?.[1] ??
  "";

const loadStart = loadavg();
const docBytes = readFileSync(DOC);
const docName = basename(DOC);
const auth = { "x-api-key": KEY };

async function api<T = any>(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${API}${path}`, {
    ...init,
    headers: { ...auth, ...(init.headers as Record<string, string>) },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

function multipart(fields: Record<string, string | Blob>, fileName?: string): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) typeof v === "string" ? fd.set(k, v) : fd.set(k, v, fileName);
  return fd;
}

async function uploadDoc(): Promise<string> {
  const res = await api("/v1/files", { method: "POST", body: multipart({ file: new Blob([docBytes]) }, docName) });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.file_id;
}

async function waitForJob(id: string): Promise<any> {
  for (;;) {
    const res = await api(`/v1/convert/job/${id}`);
    if (["Succeeded", "Failed", "Canceled"].includes(res.body.status)) return res.body;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);

// ---- set-up: a cached file rendition and a cached run export ----
const fileId = await uploadDoc();
// A FormData serialises with a fresh boundary each time: take the body and its content type from one Response.
const serialised = new Response(multipart({ format: "pdf" }));
const fileHitType = serialised.headers.get("content-type")!;
const fileHitBody = new Uint8Array(await serialised.arrayBuffer());

const prime = await api(`/v1/files/${fileId}/convert`, { method: "POST", body: multipart({ format: "pdf" }) });
if (prime.status !== 200) throw new Error(`priming the file rendition: ${prime.status} ${JSON.stringify(prime.body)}`);

const submitted = await api("/v1/convert", { method: "POST", body: multipart({ fileId, targetFormat: "odt" }) });
if (submitted.status !== 202)
  throw new Error(`submitting the run: ${submitted.status} ${JSON.stringify(submitted.body)}`);
const run = await waitForJob(submitted.body.id);
if (run.status !== "Succeeded") throw new Error(`the run ${run.id} ended ${run.status}`);
const runBody = JSON.stringify({ format: "pdf" });
const primeRun = await api(`/v1/runs/${run.id}/export`, {
  method: "POST",
  body: runBody,
  headers: { "content-type": "application/json" },
});
if (primeRun.status !== 200)
  throw new Error(`priming the run export: ${primeRun.status} ${JSON.stringify(primeRun.body)}`);

for (const [name, check] of [
  ["file", await api(`/v1/files/${fileId}/convert`, { method: "POST", body: multipart({ format: "pdf" }) })],
  [
    "run",
    await api(`/v1/runs/${run.id}/export`, {
      method: "POST",
      body: runBody,
      headers: { "content-type": "application/json" },
    }),
  ],
] as const) {
  if (check.headers.get("x-rendition-cache") !== "hit")
    throw new Error(`${name}: expected a cache hit, got ${check.status} ${check.headers.get("x-rendition-cache")}`);
}

// ---- cache hits under load ----
interface HitRow {
  endpoint: string;
  connections: number;
  p50: number;
  p99: number;
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function hits(
  endpoint: string,
  path: string,
  body: Uint8Array | string,
  contentType: string,
  connections: number,
  method: "GET" | "POST" = "POST",
  headers: Record<string, string> = auth,
): Promise<HitRow> {
  const opts = {
    url: `${API}${path}`,
    method,
    headers: method === "POST" ? { ...headers, "content-type": contentType } : headers,
    body: method === "POST" ? (typeof body === "string" ? body : Buffer.from(body)) : undefined,
    connections,
  };
  await autocannon({ ...opts, duration: 2 }); // warm-up: isolates, statements, keys
  const r = await autocannon({ ...opts, duration: SECONDS });
  return {
    endpoint,
    connections,
    p50: r.latency.p50,
    p99: r.latency.p99,
    rps: r.requests.average,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

const hitRows: HitRow[] = [];
// Reference points: what wrangler dev costs with no work (an unauthenticated 404) and with the API-key
// lookup and one read (GET /v1/files/{id}).
const floorRows = [
  await hits("reference: GET /nope (404, no key, no D1)", "/nope", "", "text/plain", 1, "GET", {}),
  await hits("reference: GET /v1/files/{id}", `/v1/files/${fileId}`, "", "text/plain", 1, "GET"),
];
for (const connections of [1, 32]) {
  hitRows.push(
    await hits("POST /v1/files/{id}/convert", `/v1/files/${fileId}/convert`, fileHitBody, fileHitType, connections),
  );
  hitRows.push(
    await hits("POST /v1/runs/{id}/export", `/v1/runs/${run.id}/export`, runBody, "application/json", connections),
  );
}

// ---- misses against the bare converter, paired and interleaved ----
async function direct(): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${CONVERTER}/convert?from=docx&to=pdf&filename=${encodeURIComponent(docName)}`, {
    method: "POST",
    body: docBytes,
    headers: { "content-type": "application/octet-stream", "x-converter-secret": CONVERTER_SECRET },
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`converter: ${res.status}`);
  return performance.now() - started;
}

async function miss(): Promise<number> {
  const id = await uploadDoc(); // a new file is a new cache key: same document, same conversion
  const started = performance.now();
  const res = await api(`/v1/files/${id}/convert`, { method: "POST", body: multipart({ format: "pdf" }) });
  const total = performance.now() - started;
  if (res.status !== 200 || res.headers.get("x-rendition-cache") !== "miss")
    throw new Error(`miss: ${res.status} ${JSON.stringify(res.body)}`);
  return total;
}

const conversionsDone = async () =>
  ((await (await fetch(`${CONVERTER}/health`)).json()) as { conversions: number }).conversions;
const conversionsBefore = await conversionsDone();
for (let i = 0; i < 3; i++) {
  await direct();
  await miss();
}
const directs: number[] = [];
const misses: number[] = [];
const overheads: number[] = [];
for (let i = 0; i < MISSES; i++) {
  const d = await direct();
  const m = await miss();
  directs.push(d);
  misses.push(m);
  overheads.push(m - d);
}

// The API must be converting on the converter measured directly (.dev.vars is shared in a shared tree).
const conversionsAfter = await conversionsDone();
if (conversionsAfter - conversionsBefore !== 2 * (MISSES + 3)) {
  throw new Error(
    `${CONVERTER} did ${conversionsAfter - conversionsBefore} conversions, expected ${2 * (MISSES + 3)}: the API uses another converter (check CONVERTER_URL in .dev.vars)`,
  );
}

// ---- report ----
const date = new Date().toISOString().slice(0, 16).replace("T", " ");
const machine = `${cpus().length}× ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const load = `load average ${loadStart.map((l) => l.toFixed(1)).join(" ")} at the start, ${loadavg()
  .map((l) => l.toFixed(1))
  .join(" ")} at the end`;
console.log(`\n### Renditions — ${date} UTC, ${machine}\n`);
console.log(
  `Document: \`${DOC}\` (${docBytes.length} bytes) → pdf. Hits: autocannon, ${SECONDS} s per row after a 2 s warm-up. Machine ${load}.\n`,
);
console.log("| cache hit | connections | p50 ms | p99 ms | req/s | requests | non-2xx |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const r of floorRows)
  console.log(
    `| ${r.endpoint} | ${r.connections} | ${ms(r.p50)} | ${ms(r.p99)} | ${Math.round(r.rps)} | ${r.requests} | — |`,
  );
for (const r of hitRows)
  console.log(
    `| ${r.endpoint} | ${r.connections} | ${ms(r.p50)} | ${ms(r.p99)} | ${Math.round(r.rps)} | ${r.requests} | ${r.non2xx + r.errors} |`,
  );
console.log(`\nMiss vs. the bare converter (${MISSES} interleaved pairs, after 3 warm-up pairs):\n`);
console.log("| | p50 ms | p90 ms | min ms |");
console.log("| --- | ---: | ---: | ---: |");
console.log(
  `| converter alone (POST ${CONVERTER}/convert) | ${ms(percentile(directs, 50))} | ${ms(percentile(directs, 90))} | ${ms(Math.min(...directs))} |`,
);
console.log(
  `| API miss (POST /v1/files/{id}/convert, waits for the job) | ${ms(percentile(misses, 50))} | ${ms(percentile(misses, 90))} | ${ms(Math.min(...misses))} |`,
);
console.log(
  `| added by the API (paired difference) | ${ms(percentile(overheads, 50))} | ${ms(percentile(overheads, 90))} | ${ms(Math.min(...overheads))} |`,
);
console.log(`\nTargets: hit p50 ≤ 10 ms; miss overhead p50 ≤ 50 ms.`);
