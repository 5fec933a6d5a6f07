// Seed 003 (../shared/seeds/003_440c801b17e67e6d.txt): every response model checked field by field, type by
// type, against real responses, with the models transcribed from the document as data (test/seed-models.ts),
// not taken from docconv's own schemas. Plus the document's statements: states, the credit formula, outputs.
import { exports } from "cloudflare:workers";
import { describe, expect, inject, it, vi } from "vitest";
import { BASE, balance, fixture, parkedJob, seedAccount, submit, type TestAccount, waitForJob } from "./harness";
import { checkModel, SEED_003_VALUES } from "./seed-models";

const get = (path: string) => exports.default.fetch(new Request(`${BASE}${path}`));

function conforms(model: string, value: unknown) {
  expect(checkModel(model, value), `${model}: ${JSON.stringify(value)}`).toEqual([]);
}

async function jobStatus(account: TestAccount, id: string) {
  const res = await account.json(`/v1/convert/job/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

/** Seed 003's statements about each state, on top of the model's types. */
function expectState(job: any, status: string) {
  conforms("JobStatusResponse", job);
  expect(SEED_003_VALUES.jobStatus).toContain(job.status);
  expect(job.status).toBe(status);
  expect(job.progress.percent).toBeGreaterThanOrEqual(0);
  expect(job.progress.percent).toBeLessThanOrEqual(100);
  if (status === "Queued" || status === "Running") {
    // "For jobs that are still Queued or Running, progress.percent is 0 and metrics.inputBytes /
    // metrics.outputBytes are 0."
    expect(job.progress.percent).toBe(0);
    expect(job.metrics.inputBytes).toBe(0);
    expect(job.metrics.outputBytes).toBe(0);
  }
  // "The metrics.creditCost is always populated."
  expect(job.metrics.creditCost).toBeGreaterThan(0);
  // "The error object is only populated for Failed jobs."
  if (status === "Failed") {
    expect(typeof job.error.code).toBe("string");
    expect(typeof job.error.detail).toBe("string");
  } else {
    expect(job.error).toBeNull();
  }
  // "The output object is only populated for Succeeded jobs whose artifacts haven't expired."
  if (status === "Succeeded") conforms("JobOutputSummary", job.output);
  else expect(job.output).toBeNull();
}

describe("the model check itself", () => {
  it("catches the shapes a client written from seed 003 tripped on", () => {
    const job = {
      id: "x",
      status: "Failed",
      progress: { percent: 10, phase: "failed" },
      metrics: { inputBytes: 5, outputBytes: null, creditCost: 1 },
      error: { code: "c", detail: "d" },
      output: null,
    };
    expect(checkModel("JobStatusResponse", job)).toEqual([
      "JobStatusResponse.metrics.outputBytes: expected number, got null",
    ]);
    expect(checkModel("JobStatusResponse", { ...job, progress: {} })).toEqual([
      "JobStatusResponse.progress.percent: required, missing",
      "JobStatusResponse.metrics.outputBytes: expected number, got null",
    ]);
    const costing = {
      strategy: "PerPage",
      baseCost: 1,
      increment: 10,
      incrementUnit: "page",
      displaySuffix: "per 10 pages",
      costVariants: [],
    };
    expect(checkModel("CostingInfo", costing)).toEqual(["CostingInfo.costVariants: expected object|null, got array"]);
    expect(
      checkModel("ConvertFastEntitlementsResponse", { planId: "pro", planName: "Pro", totalCredits: 1, tier: 1 }),
    ).toEqual(["ConvertFastEntitlementsResponse.tier: expected string, got number"]);
    expect(
      checkModel("GetConversionsResponse", {
        conversions: [{ job: 1 }],
        sourceFormatTo: {},
        maxFileSizeBytes: 1,
        maxConcurrentJobs: 1,
        maxBatchFiles: 1,
      }),
    ).toContain("GetConversionsResponse.conversions[0].job: expected string, got number");
  });
});

describe("seed 003: ErrorResponse", () => {
  it("error is the dotted code, detail a string, context fields beside them (convert.unsupported_format_pair)", async () => {
    const account = await seedAccount();
    const res = await submit(account, {
      file: { name: "photo.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "mp3",
    });
    expect(res.status).toBe(400);
    conforms("ErrorResponse", res.body);
    expect(res.body).toMatchObject({
      error: "convert.unsupported_format_pair",
      sourceFormat: "docx",
      targetFormat: "mp3",
    });
    expect(res.body.supportedTargets).toEqual(expect.arrayContaining(["pdf"]));
    expect(res.body.error).toMatch(/^[a-z]+\.[a-z_]+$/);
  });

  it("keeps that shape for failures before the route: a missing key, an empty file", async () => {
    const nokey = await exports.default.fetch(new Request(`${BASE}/v1/convert/jobs`));
    conforms("ErrorResponse", await nokey.json());
    const account = await seedAccount();
    const empty = await submit(account, { file: { name: "empty.docx", bytes: new Uint8Array() }, targetFormat: "pdf" });
    conforms("ErrorResponse", empty.body);
    expect(empty.body.error).toBe("request.empty_file");
  });
});

describe("seed 003: JobAcceptedResponse and JobStatusResponse in every state", () => {
  it("Queued, then Succeeded: creditCost the same in the 202 and in the metrics, the output summary as downloaded", async () => {
    const account = await seedAccount({ credits: 100 });
    const accepted = await submit(account, {
      file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "pdf",
    });
    expect(accepted.status).toBe(202);
    conforms("JobAcceptedResponse", accepted.body);
    expect(accepted.body.status).toBe("Queued");
    expect(Object.keys(accepted.body).sort()).toEqual(["creditCost", "id", "status"]);

    const done = await waitForJob(account, accepted.body.id);
    expectState(done, "Succeeded");
    expect(done.progress.percent).toBe(100);
    expect(done.metrics.creditCost).toBe(accepted.body.creditCost);
    expect(done.metrics.inputBytes).toBe(fixture("docx-header-footer.docx").length);
    const download = await account.call(`/v1/convert/job/${done.id}/download`);
    const bytes = new Uint8Array(await download.arrayBuffer());
    expect(done.metrics.outputBytes).toBe(bytes.length);
    // "fileName — matches what the download endpoint returns in Content-Disposition"
    expect(download.headers.get("content-disposition")).toContain(`filename="${done.output.fileName}"`);
    expect(download.headers.get("content-type")).toBe(done.output.contentType);
    expect(done.output).toEqual({ fileName: "report.pdf", contentType: "application/pdf", fileCount: 1 });
  });

  it("Queued and Running as the document states them: percent 0, byte counts 0, no error, no output", async () => {
    const account = await seedAccount({ credits: 100 });
    expectState(await jobStatus(account, await parkedJob(account, "Queued")), "Queued");
    const running = await jobStatus(account, await parkedJob(account, "Running"));
    expectState(running, "Running");
    expect(running.progress.phase === null || typeof running.progress.phase === "string").toBe(true);
  });

  it("Failed: error.code and error.detail, byte counts numbers (0 where nothing was produced), no output", async () => {
    const account = await seedAccount({ credits: 100 });
    const accepted = await submit(account, {
      file: { name: "locked.odt", bytes: fixture("hostile-password-protected.odt") },
      targetFormat: "pdf",
    });
    const failed = await waitForJob(account, accepted.body.id);
    expectState(failed, "Failed");
    expect(failed.error.code).toBe("convert.password_protected");
    expect(failed.metrics.outputBytes).toBe(0);
    expect(failed.metrics.inputBytes).toBe(fixture("hostile-password-protected.odt").length);
  });

  it("Canceled: numbers, never null; no error, no output", async () => {
    const account = await seedAccount({ credits: 100 });
    const id = await parkedJob(account, "Queued");
    const canceled = await account.json(`/v1/convert/job/${id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    expectState(canceled.body, "Canceled");
    expectState(await jobStatus(account, id), "Canceled");
    expect(canceled.body.metrics.outputBytes).toBe(0);
  });

  it("a multi-output job (PDF to JPG pages): the computed ZIP file name, application/zip, fileCount > 1", async () => {
    const account = await seedAccount({ credits: 100 });
    const accepted = await submit(account, {
      file: { name: "annual-report.pdf", bytes: fixture("pdf-raw-text.pdf") },
      targetFormat: "jpg",
    });
    const done = await waitForJob(account, accepted.body.id);
    expectState(done, "Succeeded");
    expect(done.output).toEqual({
      fileName: "image.pdf-to-jpg-annual-report-2-outputs.zip",
      contentType: "application/zip",
      fileCount: 2,
    });
    const download = await account.call(`/v1/convert/job/${done.id}/download`);
    expect(download.headers.get("content-disposition")).toContain(`filename="${done.output.fileName}"`);
  });

  it("webhook events carry the same JobStatusResponse", async () => {
    const account = await seedAccount({ credits: 100 });
    const hook = `http://127.0.0.1:${inject("webhookReceiverPort")}/compat-003-${Date.now()}`;
    const accepted = await submit(account, {
      file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") },
      targetFormat: "txt",
      webhookUrl: hook,
    });
    const done = await waitForJob(account, accepted.body.id);
    const received = await vi.waitUntil(async () => {
      const got = await (
        await fetch(
          `http://127.0.0.1:${inject("webhookReceiverPort")}/__received?path=${encodeURIComponent(new URL(hook).pathname)}`,
        )
      ).json<any[]>();
      return got.length ? got : false;
    });
    const event = JSON.parse(received[0].body);
    expectState(event.data, "Succeeded");
    const { download_url: _a, expires_at: _b, ...polled } = done;
    expect(event.data).toMatchObject(polled);
  });
});

describe("seed 003: CostingInfo and the credit formula", () => {
  it("charges exactly ceil(quantity / increment) × baseCost, with the catalog's costing and a quantity the server measured", async () => {
    const account = await seedAccount({ credits: 100 });
    const catalog = await (await get("/v1/convert/conversions")).json<any>();
    const costingOf = (from: string, to: string) =>
      catalog.sourceFormatTo[from].find((e: any) => e.targetFormat === to).costing;
    const cases = [
      // PerPage, pages counted from the file's structure: the PDF's 2 pages, the deck's 3 slides.
      { name: "pdf-raw-text.pdf", from: "pdf", to: "png", quantity: 2 },
      { name: "pptx-raw-text.pptx", from: "pptx", to: "pdf", quantity: 3 },
      // PerMegabyte: the upload's size.
      {
        name: "docx-header-footer.docx",
        from: "docx",
        to: "pdf",
        quantity: fixture("docx-header-footer.docx").length / (1024 * 1024),
      },
    ];
    for (const c of cases) {
      const costing = costingOf(c.from, c.to);
      conforms("CostingInfo", costing);
      const expected = Math.ceil(c.quantity / costing.increment) * costing.baseCost;
      const accepted = await submit(account, { file: { name: c.name, bytes: fixture(c.name) }, targetFormat: c.to });
      expect(accepted.body.creditCost, `${c.from}→${c.to}`).toBe(expected);
      const estimate = await (
        await get(
          `/v1/convert/estimate/${c.from}/${c.to}?bytes=${fixture(c.name).length}&pages=${Math.ceil(c.quantity)}`,
        )
      ).json<any>();
      expect(estimate.creditCost, `${c.from}→${c.to} estimate`).toBe(expected);
    }
  });

  it("has the document's field types for every strategy docconv uses, and variants as an object or null", async () => {
    const catalog = await (await get("/v1/convert/conversions")).json<any>();
    const costings = catalog.conversions.map((c: any) => c.costing);
    for (const costing of costings) {
      conforms("CostingInfo", costing);
      expect(SEED_003_VALUES.costingStrategy).toContain(costing.strategy);
      if (costing.strategy === "Fixed") expect(costing.increment).toBeNull();
      else expect(costing.increment).toBeGreaterThan(0);
      expect(
        costing.costVariants === null ||
          (typeof costing.costVariants === "object" && !Array.isArray(costing.costVariants)),
      ).toBe(true);
    }
    expect(costings.filter((c: any) => c.costVariants === null).length).toBeGreaterThan(costings.length / 2); // "null for most"
    expect(new Set(costings.map((c: any) => c.incrementUnit))).toEqual(new Set(["pages", "slides", "mb"]));
  });
});

describe("seed 003: the catalog", () => {
  it("GetConversionsResponse, ConversionItem and ConversionEdge field by field", async () => {
    const body = await (await get("/v1/convert/conversions")).json<any>();
    conforms("GetConversionsResponse", body);
    for (const item of body.conversions) conforms("ConversionItem", item);
    const edges = Object.entries(body.sourceFormatTo).flatMap(([source, list]) => {
      expect(Array.isArray(list)).toBe(true);
      return (list as any[]).map((e) => {
        expect(e.sourceFormat).toBe(source);
        return e;
      });
    });
    for (const edge of edges) conforms("ConversionEdge", edge);
    expect(edges).toHaveLength(body.conversions.length);
    // "Max page count (document converters with PerPage costing)"
    for (const edge of edges) expect(edge.maxPages === null, edge.job).toBe(edge.costing.strategy !== "PerPage");
  });
});

describe("seed 003: entitlements", () => {
  it('ConvertFastEntitlementsResponse: tier a string, "pro" with no daily limit for Pro', async () => {
    const pro = await seedAccount({ plan: "pro", credits: 4850 });
    const res = await pro.json("/v1/convert/entitlements/me");
    conforms("ConvertFastEntitlementsResponse", res.body);
    expect(res.body).toMatchObject({
      planId: "pro",
      tier: "pro",
      totalCredits: (await balance(pro.accountId)).credits,
      dailyLimit: null,
      dailyUsed: null,
      resetDate: null,
    });
    const free = await seedAccount({ plan: "free" });
    const f = (await free.json("/v1/convert/entitlements/me")).body;
    conforms("ConvertFastEntitlementsResponse", f);
    expect(f.tier).toBe("free");
  });
});
