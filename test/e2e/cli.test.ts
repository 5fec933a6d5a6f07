// The docconv CLI (bin/docconv.js) as a user runs it, against the real local stack.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../converter-process";
import { apiKey, apiUrl, cli, fixturesDir } from "./harness";

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "docconv-cli-"));
  copyFileSync(`${fixturesDir}docx-header-footer.docx`, join(work, "report.docx"));
  copyFileSync(`${fixturesDir}hostile-password-protected.odt`, join(work, "secret.odt"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("docconv convert", () => {
  it("uploads with a progress bar, follows the job and saves the PDF given with -o", async () => {
    const out = join(work, "report.pdf");
    const run = await cli(["convert", join(work, "report.docx"), "--to", "pdf", "-o", out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/uploading report\.docx \[#{24}\] 100%/);
    expect(run.stderr).toMatch(/job [0-9a-f-]{36}: Succeeded/);
    expect(run.stderr).toContain(`saved ${out}`);
    expect(run.stdout.trim()).toBe(out);
    expect(readFileSync(out).subarray(0, 5).toString()).toBe("%PDF-");
  });

  it("saves under the server's file name in the working directory without -o, and prints JSON with --json", async () => {
    const run = await cli(["convert", "report.docx", "--to", "odt", "--json", "--quiet"], { cwd: work });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    const job = JSON.parse(run.stdout);
    expect(job).toMatchObject({ status: "Succeeded", targetFormat: "odt", savedTo: job.output.fileName });
    expect(readFileSync(join(work, job.output.fileName)).subarray(0, 2).toString()).toBe("PK");
  });

  it("exits 3 with the job's error code when the conversion fails", async () => {
    const run = await cli(["convert", join(work, "secret.odt"), "--to", "pdf", "-o", join(work, "secret.pdf")]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("docconv: convert.password_protected");
    expect(run.stderr).toMatch(/ended Failed; its credits were refunded/);
  });

  it("exits 1 with the envelope's code and the supported targets for an unsupported pair", async () => {
    const run = await cli(["convert", join(work, "report.docx"), "--to", "mp3"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("docconv: convert.unsupported_format_pair (400):");
    expect(run.stderr).toMatch(/supported targets: .*pdf/);
  });
});

describe("docconv jobs, job, credits, formats, estimate", () => {
  it("lists the key's jobs, newest first, and shows one", async () => {
    const submitted = await cli(["convert", join(work, "report.docx"), "--to", "txt", "--no-wait", "--quiet"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const jobs = await cli(["jobs", "--limit", "5"]);
    expect(jobs.code, jobs.stderr).toBe(0);
    const lines = jobs.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+CONVERSION\s+CREDITS\s+CREATED$/);
    expect(lines[1]).toContain(id);
    expect(lines[1]).toContain("docx → txt");
    const json = JSON.parse((await cli(["jobs", "--json"])).stdout);
    expect(json.data[0].id).toBe(id);
    const job = await cli(["job", id]);
    expect(job.code).toBe(0);
    expect(job.stdout).toContain(`${id}  `);
  });

  it("shows the plan and credit balance", async () => {
    const run = await cli(["credits"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^plan: .+ \(pro\)$/m);
    expect(run.stdout).toMatch(/^credits: \d+$/m);
    expect(run.stdout).toContain("daily limit: none");
  });

  it("lists formats from the catalog, without a key", async () => {
    const all = await cli(["formats"], { env: { DOCCONV_API_KEY: undefined } });
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/^docx\s+.*\bpdf\b/m);
    const fromDocx = await cli(["formats", "--from", "docx"]);
    expect(fromDocx.stdout).toMatch(/^pdf\s+\d+/m);
    const estimate = await cli(["estimate", "pdf", "png", "--pages", "12"]);
    expect(estimate.code, estimate.stderr).toBe(0);
    expect(estimate.stdout).toMatch(/^pdf → png: 2 credits \(PerPage per 10 pages, 12 pages\)$/m);
    const assumed = await cli(["estimate", "docx", "pdf"]);
    expect(assumed.stdout).toMatch(/^docx → pdf: 1 credit \(PerMegabyte per 5 MB, 0 mb\)$/m);
    expect(assumed.stdout).toMatch(/^ {2}assumed: no `bytes` given/m);
  });
});

describe("docconv configuration and errors", () => {
  it("takes the server and key from flags when the environment has none", async () => {
    const run = await cli(["credits", "--api-url", apiUrl(), "--api-key", apiKey()], {
      env: { DOCCONV_API_URL: undefined, DOCCONV_API_KEY: undefined },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^credits: \d+$/m);
  });

  it("exits 1 with auth.invalid_key and a hint for a wrong key", async () => {
    const run = await cli(["jobs"], { env: { DOCCONV_API_KEY: "sk_test_00000000000000000000000000000000" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("docconv: auth.invalid_key (401):");
    expect(run.stderr).toContain("DOCCONV_API_KEY");
  });

  it("exits 1 naming the URL when the API cannot be reached", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await cli(["jobs"], { env: { DOCCONV_API_URL: url } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`docconv: client.network: cannot reach ${url}`);
  });

  it("exits 2 on usage errors: no key, no --to, unknown command, missing file", async () => {
    const noKey = await cli(["jobs"], { env: { DOCCONV_API_KEY: undefined } });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("no API key");
    const noTarget = await cli(["convert", join(work, "report.docx")]);
    expect(noTarget.code).toBe(2);
    expect(noTarget.stderr).toContain("--to");
    const unknown = await cli(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const missing = await cli(["convert", join(work, "nope.docx"), "--to", "pdf"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read");
  });

  it("prints the usage with --help", async () => {
    const run = await cli(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("docconv convert <file> --to <format>");
    expect(run.stdout).toContain("DOCCONV_API_URL");
  });
});
