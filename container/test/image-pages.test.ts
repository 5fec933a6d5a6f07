// Image targets with `pages`: LibreOffice exports only the selected pages (PageRange), and the images are named
// by their page numbers in the document. Against a stand-in pool that records the bridge command and answers
// with a ready-made PDF, so no LibreOffice is involved.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { Converter } from "../src/conversion.ts";
import type { InstanceJob } from "../src/engine/instance.ts";
import { ToolBox } from "../src/engine/tools.ts";
import { type ConvertOptions, parsePages } from "../src/options.ts";
import type { Pool } from "../src/pool.ts";
import { checkPng, fixture, isJpeg, unzip } from "./helpers.ts";

const twoPagePdf = fileURLToPath(new URL("../../test/fixtures/pdf-raw-text.pdf", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "docconv-image-pages-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const onePagePdf = join(root, "one-page.pdf");
execFileSync("pdfseparate", ["-f", "1", "-l", "1", twoPagePdf, onePagePdf]);

/** Runs one conversion of a 9-slide deck; LibreOffice's "export" is `pdf`. */
async function convertDeck(target: "png" | "jpg", pages: string | undefined, pdf = twoPagePdf) {
  const commands: InstanceJob["command"][] = [];
  const pool = {
    async run(job: InstanceJob) {
      commands.push(job.command);
      const output = join(job.outDir, job.outputName);
      copyFileSync(pdf, output);
      return {
        reply: { ok: true, ms: 1, family: "impress", inputPages: 9, outputs: [{ path: output }] },
        startedAt: Date.now(),
        queueMs: 0,
      };
    },
  } as unknown as Pool;
  const workDir = mkdtempSync(join(root, "request-"));
  const input = join(workDir, "upload");
  writeFileSync(input, fixture("odp-placeholders.odp"));
  const options: ConvertOptions = {
    pages: pages === undefined ? undefined : parsePages(pages),
    pdfa: undefined,
    dpi: 30,
    quality: 80,
    sheet: undefined,
    escapeFormulas: true,
    maxPages: undefined,
    timeoutMs: 30_000,
  };
  const result = await new Converter(pool, new ToolBox({ root, slots: 1 })).convert({
    input,
    workDir,
    target,
    declaredSource: undefined,
    options,
  });
  return { command: commands[0]!, result };
}

describe("image targets with pages", () => {
  test("the page range goes to LibreOffice's PDF export and the images keep the document's page numbers", async () => {
    const { command, result } = await convertDeck("png", "2,7-");
    expect(command.filter).toBe("impress_pdf_Export");
    expect(command.filterData).toEqual({ PageRange: "2,7-" });
    expect(result).toMatchObject({ extension: "zip", files: 2, outputPages: 2 });
    const entries = unzip(readFileSync(result.path));
    expect([...entries.keys()]).toEqual(["page-002.png", "page-007.png"]);
    for (const png of entries.values()) checkPng(png);
  });

  test("one selected page is the image itself (jpg too)", async () => {
    const { command, result } = await convertDeck("jpg", "5", onePagePdf);
    expect(command.filterData).toEqual({ PageRange: "5" });
    expect(result).toMatchObject({ extension: "jpg", files: 1, outputPages: 1 });
    expect(isJpeg(readFileSync(result.path))).toBe(true);
  });

  test("a PDF with more pages than selected (the range was not applied) is read as the whole document", async () => {
    const { result } = await convertDeck("png", "2");
    expect(result).toMatchObject({ extension: "png", files: 1 });
    // Page 2 of the PDF, not its first page.
    const firstPage = (await convertDeck("png", "1", onePagePdf)).result;
    expect(checkPng(readFileSync(result.path)).scanlines.equals(checkPng(readFileSync(firstPage.path)).scanlines)).toBe(
      false,
    );
  });

  test("without pages the whole document is exported and every page rendered", async () => {
    const { command, result } = await convertDeck("png", undefined);
    expect(command.filterData).toBeUndefined();
    expect([...unzip(readFileSync(result.path)).keys()]).toEqual(["page-001.png", "page-002.png"]);
  });
});
