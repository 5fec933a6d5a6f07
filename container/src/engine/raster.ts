// PDF page counts (pdfinfo) and page images (pdftoppm, plus our PNG encoder), one file per page named
// page-NNN.<ext>.

import { readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ConvertError } from "../errors.ts";
import { ppmToPng } from "./png.ts";
import { runTool } from "./tools.ts";

export async function pdfPageCount(pdf: string, deadline: number): Promise<number> {
  const { code, stdout, stderr } = await runTool("pdfinfo", [pdf], deadline);
  const pages = /^Pages:\s+(\d+)/m.exec(stdout);
  if (code === 0 && pages?.[1]) return Number(pages[1]);
  if (/incorrect password/i.test(stderr)) {
    throw new ConvertError("convert.password_protected", "the PDF is encrypted and no password was given");
  }
  throw new ConvertError("convert.corrupt_input", `the PDF cannot be read: ${firstLine(stderr) || "no page count"}`);
}

export interface RasterOptions {
  format: "png" | "jpg";
  dpi: number;
  quality: number;
}

export interface PageImage {
  page: number;
  path: string;
}

/**
 * Renders `pages` (sorted, within the PDF) of `pdf` into `outDir`. Images are named by page number, or by
 * `labels[i]` for `pages[i]` when the PDF holds a selection of a document's pages.
 */
export async function rasterize(
  pdf: string,
  pages: readonly number[],
  options: RasterOptions,
  outDir: string,
  deadline: number,
  labels?: readonly number[],
): Promise<PageImage[]> {
  const labelOf = new Map(pages.map((page, i) => [page, labels?.[i] ?? page]));
  const digits = Math.max(3, String(labelOf.get(pages[pages.length - 1]!) ?? 1).length);
  const nameOf = (page: number) => join(outDir, `page-${String(labelOf.get(page) ?? page).padStart(digits, "0")}.${options.format}`);
  const images = options.format === "png"
    ? await renderPng(pdf, pages, options.dpi, outDir, nameOf, deadline)
    : await renderJpeg(pdf, pages, options, outDir, nameOf, deadline);
  if (images.length !== pages.length) {
    throw new ConvertError("convert.engine_failure", `rendered ${images.length} of ${pages.length} pages`, { retryable: true });
  }
  return images;
}

/** JPEG straight from pdftoppm (its libjpeg path is fast), one pdftoppm per run of consecutive pages. */
async function renderJpeg(
  pdf: string,
  pages: readonly number[],
  options: RasterOptions,
  outDir: string,
  nameOf: (page: number) => string,
  deadline: number,
): Promise<PageImage[]> {
  const images: PageImage[] = [];
  for (const [first, last] of contiguousRuns(pages)) {
    const prefix = join(outDir, `render-${first}`);
    const args = ["-r", String(options.dpi), "-f", String(first), "-l", String(last), "-jpeg", "-jpegopt", `quality=${options.quality}`];
    await pdftoppm([...args, pdf, prefix], deadline);
    const rendered = (await readdir(outDir)).filter((f) => f.startsWith(`render-${first}-`));
    for (const file of rendered) {
      const page = Number(/-(\d+)\.\w+$/.exec(file)?.[1]);
      await rename(join(outDir, file), nameOf(page));
      images.push({ page, path: nameOf(page) });
    }
  }
  return images.sort((a, b) => a.page - b.page);
}

/**
 * PNG: pdftoppm renders each page to raw PPM, ppmToPng encodes it (see png.ts for why). The next page renders
 * while the previous one encodes, and at most two raw pages exist on disk at a time.
 */
async function renderPng(
  pdf: string,
  pages: readonly number[],
  dpi: number,
  outDir: string,
  nameOf: (page: number) => string,
  deadline: number,
): Promise<PageImage[]> {
  const images: PageImage[] = [];
  let encoding: Promise<void> = Promise.resolve();
  try {
    for (const page of pages) {
      const raw = join(outDir, `raw-${page}`);
      await pdftoppm(["-r", String(dpi), "-f", String(page), "-l", String(page), "-singlefile", pdf, raw], deadline);
      await encoding;
      encoding = ppmToPng(`${raw}.ppm`, nameOf(page), dpi).then(() => unlink(`${raw}.ppm`));
      images.push({ page, path: nameOf(page) });
    }
    await encoding;
  } catch (error) {
    await encoding.catch(() => {});
    if (error instanceof ConvertError) throw error;
    throw new ConvertError("convert.engine_failure", `PNG encoding failed: ${(error as Error).message}`, { retryable: true });
  }
  if (Date.now() > deadline) throw new ConvertError("convert.timeout", "the conversion ran out of time while rendering pages");
  return images;
}

async function pdftoppm(args: string[], deadline: number): Promise<void> {
  const { code, stderr } = await runTool("pdftoppm", args, deadline);
  if (code !== 0) {
    throw new ConvertError("convert.engine_failure", `page rendering failed: ${firstLine(stderr)}`, { retryable: true });
  }
}

function contiguousRuns(pages: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const page of pages) {
    const last = runs[runs.length - 1];
    if (last && page === last[1] + 1) last[1] = page;
    else runs.push([page, page]);
  }
  return runs;
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.slice(0, 300) ?? "";
}
