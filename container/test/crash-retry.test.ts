// Crashes mid-conversion, on a server of its own (two instances): the retry runs on the crashed instance's
// replacement, so the healthy instance keeps serving; a second crash is the document's (422).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { convert, fixture, pdfPages } from "./helpers.ts";
import { health, sofficePids, startTestServer, type TestServer, waitForHealth } from "./server-process.ts";

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ CONVERTER_INSTANCES: "2" });
});

afterAll(async () => {
  const left = await server.stop();
  expect(left).toEqual({ processes: [], files: [], exitCode: 0 });
});

const docx = fixture("docx-header-footer.docx");

/** A CSV that takes LibreOffice a few seconds to lay out as PDF: long enough to kill it mid-way, twice. */
function slowCsv(): Buffer {
  const rows = ["id,name,city,amount,note"];
  for (let i = 0; i < 18_000; i++) rows.push(`${i},name ${i},city ${i % 50},${i}.5,note ${i}`);
  return Buffer.from(rows.join("\n"));
}

const waitFor = (predicate: (h: any) => boolean, what: string) => waitForHealth(server, predicate, what);
const fullStrength = (h: any) => h.instances.ready === 2 && h.instances.starting === 0;
const allIdle = () => waitFor((h) => fullStrength(h) && h.instances.busy === 0 && h.queued === 0, "two idle instances");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** Of `pids`, the soffice that used the most CPU over 300 ms: the one converting. */
async function busiest(pids: number[]): Promise<number> {
  const first = new Map(pids.map((pid) => [pid, cpuTicks(pid)]));
  await sleep(300);
  return [...pids].sort((a, b) => cpuTicks(b) - first.get(b)! - (cpuTicks(a) - first.get(a)!))[0]!;
}

describe("crash retries", () => {
  test("a crashed conversion is retried on its instance's replacement while the other instance keeps serving", async () => {
    await allIdle();
    const before = sofficePids(server);
    expect(before).toHaveLength(2);
    const crashedBefore = (await health(server)).crashed;

    let retried = false;
    const pending = convert(slowCsv(), { to: "pdf" }, server.url).finally(() => (retried = true));
    await waitFor((h) => h.instances.busy === 1, "the conversion to start");
    const victim = await busiest(before);
    const survivor = before.find((pid) => pid !== victim)!;
    process.kill(victim, "SIGKILL");

    // The retry waits for the replacement; the healthy instance is not taken from the other requests.
    const other = await convert(docx, { to: "pdf" }, server.url);
    expect(other.status).toBe(200);
    expect(pdfPages(other.body)).toBe(2);
    expect(retried).toBe(false);

    const res = await pending;
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(pdfPages(res.body)).toBeGreaterThan(1);
    const h = await waitFor(fullStrength, "the replacement");
    expect(h.crashed).toBe(crashedBefore + 1);
    const now = sofficePids(server);
    expect(now).toContain(survivor);
    expect(now).not.toContain(victim);
  });

  test("a document that crashes LibreOffice twice is 422 convert.engine_crash_on_input; the healthy instance survives", async () => {
    await allIdle();
    const before = sofficePids(server);
    const crashedBefore = (await health(server)).crashed;

    const pending = convert(slowCsv(), { to: "pdf" }, server.url);
    await waitFor((h) => h.instances.busy === 1, "the conversion to start");
    const victim = await busiest(before);
    const survivor = before.find((pid) => pid !== victim)!;
    process.kill(victim, "SIGKILL");

    // The replacement comes up and takes the retry at once (busy, nothing starting); crash it as well.
    await waitFor((h) => h.crashed === crashedBefore + 1, "the crash to be noticed");
    await waitFor((h) => h.instances.starting === 0 && h.instances.busy === 1, "the retry on the replacement");
    const replacement = sofficePids(server).find((pid) => !before.includes(pid));
    expect(replacement).toBeDefined();
    expect(await busiest([replacement!, survivor])).toBe(replacement);
    process.kill(replacement!, "SIGKILL");

    const res = await pending;
    expect(res.status, JSON.stringify(res.json)).toBe(422);
    expect(res.json).toMatchObject({ error: "convert.engine_crash_on_input" });
    expect(String(res.json!.detail)).toMatch(/crashed on this document twice/);
    const h = await waitFor(fullStrength, "the replacements");
    expect(h.crashed).toBe(crashedBefore + 2);
    expect(sofficePids(server)).toContain(survivor);
  });
});
