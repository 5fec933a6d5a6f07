// What the converter's isolation, caps, secret and CSV safety mean for a job, through the API with the real
// converter: an RTF that includes a file of the converter's host converts as if the file were not there; a
// memory bomb fails at once with convert.resource_limit (final, refunded, never retried); a converter that
// refuses the Worker's secret fails the job and refunds it; CSV outputs are safe to open in a spreadsheet.
import { env } from "cloudflare:workers";
import { strFromU8, unzipSync } from "fflate";
import { describe, expect, inject, it } from "vitest";
import { openServices } from "../src/domain/services";
import { processJob } from "../src/queue/consumer";
import {
  balance,
  fixture,
  insertJobs,
  jobRow,
  seedAccount,
  submit,
  type TestAccount,
  upload,
  waitForJob,
} from "./harness";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const includePicture = (path: string) =>
  new TextEncoder().encode(text(fixture("hostile-includepicture.rtf")).replaceAll("@CANARY@", path));

async function download(account: TestAccount, id: string): Promise<Uint8Array> {
  const res = await account.call(`/v1/convert/job/${id}/download`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

async function convertJob(
  account: TestAccount,
  name: string,
  bytes: Uint8Array,
  targetFormat: string,
  extra: Record<string, string> = {},
) {
  const res = await submit(account, { file: { name, bytes }, targetFormat, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return waitForJob(account, res.body.id);
}

/** A job admitted like the API does but not queued: the test runs the consumer itself, against the env it wants. */
async function parkedJobFor(account: TestAccount, fixtureName: string, source: string, target: string, cost: number) {
  const { file_id, bytes } = await upload(account, fixtureName);
  const [id] = await insertJobs(
    [
      {
        accountId: account.accountId,
        fileId: file_id,
        sourceFormat: source,
        targetFormat: target,
        creditCost: cost,
        inputBytes: bytes,
      },
    ],
    { charge: true },
  );
  return id!;
}

describe("hostile documents through the API", () => {
  it("an RTF including a root-only file of the converter's host converts without it, exactly as if it did not exist", async () => {
    const account = await seedAccount({ credits: 50 });
    const canary = inject("canary");
    const canaryBytes = Uint8Array.from(atob(canary.base64), (c) => c.charCodeAt(0));
    const aimed = await convertJob(account, "include.rtf", includePicture(canary.path), "docx");
    const missing = await convertJob(
      account,
      "include.rtf",
      includePicture(canary.path.replace("secret.png", "absent.png")),
      "docx",
    );
    expect({ status: aimed.status, error: aimed.error }).toEqual({ status: "Succeeded", error: null });
    expect({ status: missing.status, error: missing.error }).toEqual({ status: "Succeeded", error: null });
    const parts = unzipSync(await download(account, aimed.id));
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    expect(Object.values(parts).some((part) => hex(part).includes(hex(canaryBytes)))).toBe(false);
    expect(strFromU8(parts["word/document.xml"]!)).toContain("Before the picture.");
  });

  it("a memory bomb fails with convert.resource_limit on its first attempt: final, refunded, not retried", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJobFor(account, "hostile-memory-bomb.ods", "ods", "pdf", 2);
    expect((await balance(account.accountId)).credits).toBe(8);
    const capped = { ...env, CONVERTER_URL: `http://127.0.0.1:${inject("cappedConverterPort")}` };
    expect(await processJob(openServices(capped), id)).toEqual({ kind: "done" });
    expect(await jobRow(id)).toMatchObject({ status: "Failed", attempts: 1, error_code: "convert.resource_limit" });
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
    const status = (await account.json(`/v1/convert/job/${id}`)).body;
    expect(status.error).toMatchObject({ code: "convert.resource_limit" });
    expect(status.error.detail).toMatch(/MiB/);
  });

  it("a converter that refuses the Worker's secret fails the job with convert.unauthorized and refunds it", async () => {
    const account = await seedAccount({ credits: 10 });
    const id = await parkedJobFor(account, "xlsx-simple.xlsx", "xlsx", "csv", 1);
    expect(await processJob(openServices({ ...env, CONVERTER_SECRET: "not-the-secret" }), id)).toEqual({
      kind: "done",
    });
    expect(await jobRow(id)).toMatchObject({ status: "Failed", attempts: 1, error_code: "convert.unauthorized" });
    expect(await balance(account.accountId)).toEqual({ credits: 10, ledgerSum: 10 });
  });
});

describe("CSV safety through the API", () => {
  it("CSV outputs give formula-like cells a leading ' by default; escapeFormulas=false keeps them verbatim", async () => {
    const account = await seedAccount({ credits: 10 });
    const csv = fixture("hostile-formula-injection.csv");
    const safe = await convertJob(account, "cells.csv", csv, "csv");
    expect(safe.status).toBe("Succeeded");
    const safeText = text(await download(account, safe.id));
    expect(safeText).toContain("formula,'=1+1,");
    expect(safeText).toContain("dde,'@SUM(1),");
    expect(safeText).toContain("negative,-12.5,");
    const raw = await convertJob(account, "cells.csv", csv, "csv", { escapeFormulas: "false" });
    expect(raw.status).toBe("Succeeded");
    expect(text(await download(account, raw.id))).toContain("formula,=1+1,");
  });

  it("csv → xlsx keeps =1+1 as text, never a live formula", async () => {
    const account = await seedAccount({ credits: 10 });
    const job = await convertJob(account, "cells.csv", fixture("hostile-formula-injection.csv"), "xlsx");
    expect(job.status).toBe("Succeeded");
    const parts = unzipSync(await download(account, job.id));
    expect(strFromU8(parts["xl/worksheets/sheet1.xml"]!)).not.toContain("<f");
    expect(strFromU8(parts["xl/sharedStrings.xml"]!)).toContain(">=1+1<");
  });

  it("escapeFormulas is validated like the other options", async () => {
    const account = await seedAccount({ credits: 10 });
    const res = await submit(account, {
      file: { name: "cells.csv", bytes: fixture("hostile-formula-injection.csv") },
      targetFormat: "csv",
      escapeFormulas: "maybe",
    });
    expect(res.status).toBe(400);
    const pdf = await submit(account, {
      file: { name: "cells.csv", bytes: fixture("hostile-formula-injection.csv") },
      targetFormat: "pdf",
      escapeFormulas: "false",
    });
    expect(pdf.status).toBe(400);
    expect(pdf.body).toMatchObject({ error: "convert.invalid_option", option: "escapeFormulas" });
  });
});
