// Load: N jobs submitted by C concurrent clients against a running stack (`npm run dev`), mixed formats from
// the corpus. Checks that every job ends Succeeded or Failed-with-a-reason, none lost or duplicated, and that
// the credit ledger sums to the balances; prints throughput and job latency.
//
//   node bench/load.ts [--jobs 300] [--clients 20] [--api http://127.0.0.1:8787]
// A key is created with `npm run key -- --plan pro` unless DOCCONV_API_KEY is set.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "300" },
    clients: { type: "string", default: "20" },
    api: { type: "string", default: process.env.DOCCONV_API_URL ?? "http://127.0.0.1:8787" },
  },
});
const JOBS = Number(values.jobs);
const CLIENTS = Number(values.clients);
const API = values.api!.replace(/\/$/, "");

// Targets per source: the main ones users ask for.
const TARGETS: Record<string, string[]> = {
  docx: ["pdf", "txt", "html"],
  doc: ["pdf", "docx"],
  odt: ["pdf", "docx"],
  rtf: ["pdf"],
  xlsx: ["pdf", "csv"],
  xls: ["pdf", "csv"],
  ods: ["pdf", "xlsx"],
  csv: ["pdf", "xlsx"],
  pptx: ["pdf", "png"],
  ppt: ["pdf"],
  odp: ["pdf"],
  pdf: ["png"],
};

function corpus(): { path: string; ext: string }[] {
  const shared = new URL("../../shared/corpus/", import.meta.url).pathname;
  const dirs = existsSync(shared)
    ? Object.keys(TARGETS).map((d) => join(shared, d))
    : [new URL("../test/fixtures/", import.meta.url).pathname];
  const files: { path: string; ext: string }[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const ext = name.split(".").pop()!.toLowerCase();
      if (TARGETS[ext] && !name.startsWith("hostile")) files.push({ path: join(dir, name), ext });
    }
  }
  return files;
}

const key =
  process.env.DOCCONV_API_KEY ??
  execFileSync(
    process.execPath,
    ["scripts/create-key.ts", "--plan", "pro", "--credits", "1000000", "--user", `load-${Date.now()}`],
    { encoding: "utf8" },
  )
    .trim()
    .split("\n")
    .pop()!;
const headers = { "x-api-key": key };

async function json(path: string, init: RequestInit = {}) {
  const res = await fetch(`${API}${path}`, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const docs = corpus();
const work = Array.from({ length: JOBS }, (_, i) => {
  const doc = docs[i % docs.length]!;
  const targets = TARGETS[doc.ext]!;
  return { doc, target: targets[Math.floor(i / docs.length) % targets.length]! };
});
const bytesOf = new Map(docs.map((d) => [d.path, readFileSync(d.path)]));

interface Result {
  id: string;
  status: string;
  error?: { code: string; detail: string } | null;
  ms: number;
  creditCost: number;
  pair: string;
}
const results: Result[] = [];
let rateLimited = 0;
let next = 0;
const before = (await json("/v1/convert/entitlements/me")).body.totalCredits as number;
const started = performance.now();

async function client() {
  for (;;) {
    const i = next++;
    if (i >= work.length) return;
    const { doc, target } = work[i]!;
    const t0 = performance.now();
    let accepted;
    for (;;) {
      const fd = new FormData();
      fd.set("file", new Blob([bytesOf.get(doc.path)!]), basename(doc.path));
      fd.set("targetFormat", target);
      accepted = await json("/v1/convert", { method: "POST", body: fd });
      if (accepted.status !== 429 && accepted.status !== 503) break;
      rateLimited++;
      await new Promise((r) => setTimeout(r, 1000 * Number(accepted.headers.get("retry-after") ?? 1)));
    }
    if (accepted.status !== 202) {
      results.push({
        id: `refused-${i}`,
        status: `HTTP ${accepted.status}`,
        error: accepted.body,
        ms: performance.now() - t0,
        creditCost: 0,
        pair: `${doc.ext}->${target}`,
      });
      continue;
    }
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const job = (await json(`/v1/convert/job/${accepted.body.id}`)).body;
      if (["Succeeded", "Failed", "Canceled"].includes(job.status)) {
        results.push({
          id: job.id,
          status: job.status,
          error: job.error,
          ms: performance.now() - t0,
          creditCost: job.metrics.creditCost,
          pair: `${doc.ext}->${target}`,
        });
        break;
      }
    }
  }
}

await Promise.all(Array.from({ length: CLIENTS }, client));
const wallS = (performance.now() - started) / 1000;
const after = (await json("/v1/convert/entitlements/me")).body.totalCredits as number;

const pct = (xs: number[], p: number) =>
  xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const latencies = results.map((r) => r.ms);
const succeeded = results.filter((r) => r.status === "Succeeded");
const failed = results.filter((r) => r.status === "Failed");
const other = results.filter((r) => r.status !== "Succeeded" && r.status !== "Failed");
const unexplained = failed.filter((r) => !r.error?.code || !r.error?.detail);
const ids = new Set(results.map((r) => r.id));
const charged = succeeded.reduce((s, r) => s + r.creditCost, 0);

// The ledger and the balances, straight from the local D1.
const ledgerCheck = JSON.parse(
  execFileSync(
    process.execPath,
    [
      "node_modules/wrangler/bin/wrangler.js",
      "d1",
      "execute",
      "DB",
      "--local",
      "--json",
      "--command",
      "SELECT COUNT(*) AS mismatched FROM accounts a WHERE a.credits != (SELECT COALESCE(SUM(delta),0) FROM credit_ledger l WHERE l.account_id = a.id)",
    ],
    { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, stdio: ["ignore", "pipe", "ignore"] },
  ),
)[0].results[0].mismatched as number;

console.log(`\n## Load: ${JOBS} jobs, ${CLIENTS} concurrent clients (${new Date().toISOString().slice(0, 10)})\n`);
console.log("| measure | value |\n|---|---|");
console.log(`| jobs submitted / ended | ${JOBS} / ${results.length} |`);
console.log(
  `| Succeeded / Failed (with reason) / other | ${succeeded.length} / ${failed.length - unexplained.length} / ${other.length + unexplained.length} |`,
);
console.log(`| distinct job ids | ${ids.size} |`);
console.log(`| 429/503 answers (retried) | ${rateLimited} |`);
console.log(`| wall time | ${wallS.toFixed(1)} s |`);
console.log(`| throughput | ${(results.length / wallS).toFixed(2)} jobs/s |`);
console.log(
  `| job latency p50 / p95 / max (submit → final status) | ${pct(latencies, 50).toFixed(0)} / ${pct(latencies, 95).toFixed(0)} / ${Math.max(...latencies).toFixed(0)} ms |`,
);
console.log(`| credits: balance change / sum of Succeeded job costs | ${before - after} / ${charged} |`);
console.log(`| accounts whose balance differs from their ledger | ${ledgerCheck} |`);
const byCode = new Map<string, number>();
for (const r of failed) byCode.set(`${r.pair} ${r.error?.code}`, (byCode.get(`${r.pair} ${r.error?.code}`) ?? 0) + 1);
if (byCode.size) console.log(`\nFailures: ${[...byCode].map(([k, n]) => `${k} ×${n}`).join(", ")}`);
const ok =
  results.length === JOBS &&
  ids.size === JOBS &&
  other.length === 0 &&
  unexplained.length === 0 &&
  before - after === charged &&
  ledgerCheck === 0;
console.log(ok ? "\nAll jobs accounted for; the ledger balances." : "\nCHECK FAILED: see the table.");
process.exit(ok ? 0 : 1);
