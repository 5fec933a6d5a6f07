// The typed client (src/client) against the real local stack: every call goes over HTTP to wrangler dev and
// the real converter.
import { describe, expect, it } from "vitest";
import { DocconvClient, DocconvError, JobFailedError, type JobStatus } from "../../src/client/index.ts";
import { freePort } from "../converter-process";
import { apiUrl, client, fixtureBlob } from "./harness";

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function rejection(promise: Promise<unknown>): Promise<DocconvError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DocconvError);
  return err as DocconvError;
}

describe("DocconvClient against the local stack", () => {
  it("uploads a file as a stream, reporting progress up to the whole body", async () => {
    const docconv = client();
    const blob = fixtureBlob("docx-header-footer.docx");
    const progress: [number, number][] = [];
    const file = await docconv.uploadFile(blob, {
      filename: "header-footer.docx",
      onProgress: (sent, total) => progress.push([sent, total]),
    });
    expect(file).toMatchObject({
      filename: "header-footer.docx",
      bytes: blob.size,
      source_format: "docx",
      purpose: "conversion",
    });
    expect(file.file_id).toMatch(/^file_/);
    const total = progress[0]![1];
    expect(total).toBeGreaterThan(blob.size);
    expect(progress.at(-1)).toEqual([total, total]);
    expect(await docconv.getFile(file.file_id)).toEqual(file);
  });

  it("converts, follows the phases to Succeeded and downloads a real PDF under the server's file name", async () => {
    const docconv = client();
    const accepted = await docconv.convert({
      file: fixtureBlob("docx-header-footer.docx"),
      filename: "report.docx",
      targetFormat: "pdf",
    });
    expect(accepted).toMatchObject({ status: "Queued" });
    expect(accepted.creditCost).toBeGreaterThan(0);
    const phases: string[] = [];
    const job = await docconv.waitForJob(accepted.id, {
      intervalMs: 100,
      onPhase: (j) => phases.push(`${j.status}/${j.progress.phase}`),
    });
    expect(job.status).toBe("Succeeded");
    expect(phases.at(-1)).toMatch(/^Succeeded\//);
    expect(job.output).toMatchObject({ contentType: "application/pdf", fileCount: 1 });
    const download = await docconv.downloadJob(job.id);
    expect(download.fileName).toBe(job.output!.fileName);
    expect(download.fileName).toMatch(/\.pdf$/);
    const pdf = await bytesOf(download.body);
    expect(new TextDecoder().decode(pdf.slice(0, 5))).toBe("%PDF-");
    expect(pdf.byteLength).toBe(job.metrics.outputBytes);
  });

  it("follows the signed download_url without any key", async () => {
    const docconv = client();
    const file = await docconv.uploadFile(fixtureBlob("xlsx-simple.xlsx"), { filename: "simple.xlsx" });
    const job = await docconv.waitForJob((await docconv.convert({ fileId: file.file_id, targetFormat: "pdf" })).id, {
      intervalMs: 100,
    });
    expect(job.download_url).toBeTruthy();
    const anonymous = new DocconvClient({ baseUrl: apiUrl() });
    const download = await anonymous.downloadUrl(job.download_url!);
    expect(new TextDecoder().decode((await bytesOf(download.body)).slice(0, 5))).toBe("%PDF-");
  });

  it("throws JobFailedError with the job's error code when the conversion fails", async () => {
    const docconv = client();
    // Accepted (the bytes are a valid ODF package); LibreOffice finds the password when converting.
    const accepted = await docconv.convert({
      file: fixtureBlob("hostile-password-protected.odt"),
      filename: "secret.odt",
      targetFormat: "pdf",
    });
    const err = await rejection(docconv.waitForJob(accepted.id, { intervalMs: 100 }));
    expect(err).toBeInstanceOf(JobFailedError);
    const job = (err as JobFailedError).job;
    expect(job.status).toBe("Failed");
    expect(err.code).toBe("convert.password_protected");
    expect(err.code).toBe(job.error!.code);
    expect(err.detail).toBe(job.error!.detail);

    // A document refused at submission is an ordinary API error, before any job exists.
    const truncated = await rejection(
      docconv.convert({ file: fixtureBlob("hostile-truncated.docx"), filename: "truncated.docx", targetFormat: "pdf" }),
    );
    expect(truncated).toMatchObject({ status: 422, code: "convert.corrupt_input" });
  });

  it("carries the envelope in DocconvError: code, type, status, detail and context", async () => {
    const docconv = client();
    const err = await rejection(
      docconv.convert({ file: fixtureBlob("docx-header-footer.docx"), filename: "a.docx", targetFormat: "mp3" }),
    );
    expect(err).toMatchObject({ status: 400, code: "convert.unsupported_format_pair", type: "invalid_request" });
    expect(err.detail).toContain("mp3");
    expect(err.body.supportedTargets).toEqual(expect.arrayContaining(["pdf"]));

    const missing = await rejection(docconv.getJob("019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f"));
    expect(missing).toMatchObject({ status: 404, code: "jobs.not_found", type: "not_found" });

    // /v1/files* answer in seed 000's vocabulary ({error: class, code}); the client reads both the same way.
    const noFile = await rejection(docconv.convertFile("file_doesnotexist", { format: "pdf" }));
    expect(noFile).toMatchObject({ status: 404, code: "files.not_found", type: "not_found" });
    expect(noFile.body).toMatchObject({ error: "not_found", code: "files.not_found" });
    const file = await docconv.uploadFile(fixtureBlob("docx-header-footer.docx"), { filename: "a.docx" });
    const pair = await rejection(docconv.convertFile(file.file_id, { format: "mp3" }));
    expect(pair).toMatchObject({ status: 400, code: "convert.unsupported_format_pair", type: "invalid_request" });
    expect(pair.message).toContain("convert.unsupported_format_pair");
  });

  it("refuses a wrong key with auth.invalid_key and reports an unreachable server as client.network", async () => {
    const wrongKey = await rejection(client("sk_test_00000000000000000000000000000000").listJobs());
    expect(wrongKey).toMatchObject({ status: 401, code: "auth.invalid_key", type: "unauthorized" });

    const nowhere = new DocconvClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: "sk_test_x" });
    const network = await rejection(nowhere.listJobs());
    expect(network).toMatchObject({ status: 0, code: "client.network" });
    expect(network.detail).toContain("cannot reach");
  });

  it("answers 409 jobs.already_finished when canceling a finished job", async () => {
    const docconv = client();
    const file = await docconv.uploadFile(fixtureBlob("csv-raw-text.csv"), { filename: "raw.csv" });
    const job = await docconv.waitForJob((await docconv.convert({ fileId: file.file_id, targetFormat: "pdf" })).id, {
      intervalMs: 100,
    });
    const err = await rejection(docconv.cancelJob(job.id));
    expect(err).toMatchObject({ status: 409, code: "jobs.already_finished", type: "conflict" });
  });

  it("lists jobs newest first and walks every page with jobs()", async () => {
    const docconv = client();
    const file = await docconv.uploadFile(fixtureBlob("csv-raw-text.csv"), { filename: "list.csv" });
    const first = await docconv.convert({ fileId: file.file_id, targetFormat: "pdf" });
    const second = await docconv.convert({ fileId: file.file_id, targetFormat: "html" });
    const page = await docconv.listJobs({ limit: 2 });
    expect(page.data.map((j) => j.id)).toEqual([second.id, first.id]);
    expect(page.has_more).toBe(true);
    const walked: JobStatus[] = [];
    for await (const job of docconv.jobs({ pageSize: 2 })) walked.push(job);
    const ids = walked.map((j) => j.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining([first.id, second.id]));
    expect(ids.length).toBeGreaterThan(2);
    await Promise.all([first.id, second.id].map((id) => docconv.waitForJob(id, { intervalMs: 100 })));
  });

  it("reads the catalog, an estimate and the key's entitlements", async () => {
    const docconv = client();
    const catalog = await docconv.catalog();
    expect(catalog.sourceFormatTo.docx!.map((e) => e.targetFormat)).toContain("pdf");
    expect(catalog.conversions.length).toBeGreaterThan(0);
    const estimate = await docconv.estimate("pptx", "pdf", { bytes: 250_000, pages: 12 });
    expect(estimate).toMatchObject({
      sourceFormat: "pptx",
      targetFormat: "pdf",
      costing: { strategy: "PerPage", incrementUnit: "slides" },
      creditCost: 2,
      assumptions: [],
    });
    const entitlements = await docconv.entitlements();
    expect(entitlements).toMatchObject({ planId: "pro", tier: "pro" });
    expect(entitlements.totalCredits).toBeGreaterThan(0);
    expect(entitlements.dailyLimit).toBeNull();
  });

  it("converts an uploaded file to a cached rendition and exports a run in another format", async () => {
    const docconv = client();
    const file = await docconv.uploadFile(fixtureBlob("odt-raw-text.odt"), { filename: "raw.odt" });
    const rendition = await docconv.convertFile(file.file_id, { format: "pdf", wait: 60 });
    expect(rendition).toMatchObject({ file_id: file.file_id, format: "pdf" });
    expect("download_url" in rendition && rendition.download_url).toBeTruthy();

    const run = await docconv.waitForJob((await docconv.convert({ fileId: file.file_id, targetFormat: "docx" })).id, {
      intervalMs: 100,
    });
    const exported = await docconv.exportRun(run.id, { format: "pdf", wait: 60 });
    expect(exported).toMatchObject({ format: "pdf" });
  });

  it("manages webhook endpoints and reads the delivery log", async () => {
    const docconv = client();
    // Loopback only (ALLOW_LOOPBACK_WEBHOOKS in the e2e stack): nothing leaves the machine.
    const created = await docconv.createWebhook({
      url: "https://127.0.0.1:9/docconv-e2e",
      events: ["job.failed"],
      description: "e2e",
    });
    try {
      expect(created.secret).toBeTruthy();
      expect((await docconv.listWebhooks()).map((w) => w.id)).toContain(created.id);
      const secret = await docconv.createWebhookSigningSecret();
      expect(secret).toMatch(/^whsec_/);
      expect(await docconv.webhookSigningSecret()).toBe(secret);
      const deliveries = await docconv.listWebhookDeliveries({ limit: 5 });
      expect(Array.isArray(deliveries.data)).toBe(true);
    } finally {
      await docconv.deleteWebhook(created.id);
    }
    expect((await docconv.listWebhooks()).map((w) => w.id)).not.toContain(created.id);
  });

  it("reports the stack healthy, the converter's state with a key, and serves the OpenAPI document", async () => {
    const docconv = new DocconvClient({ baseUrl: apiUrl() });
    expect(await docconv.health()).toEqual({ status: "ok", api: "ok", database: "ok" });
    await expect(docconv.converterStatus()).rejects.toMatchObject({ status: 401, code: "auth.missing_key" });
    const status = await client().converterStatus();
    expect(status).toMatchObject({ transport: "url", running: 1, containers: [{ name: "local", status: "healthy" }] });
    expect(
      (status.containers[0]!.converter as { instances: { total: number } }).instances.total,
    ).toBeGreaterThanOrEqual(1);
    expect((await docconv.openapi()).openapi).toBe("3.1.0");
  });
});
