// PDF page counts (pdfinfo) and page images (pdftoppm), one file per page named page-NNN.<ext>.

import { readdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { ConvertError } from "../errors.ts";
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

/** Renders `pages` (sorted, within the document) of `pdf` into `outDir`. */
export async function rasterize(
  pdf: string,
  pages: readonly number[],
  options: RasterOptions,
  outDir: string,
  deadline: number,
): Promise<PageImage[]> {
  const images: PageImage[] = [];
  const extension = options.format;
  const digits = Math.max(3, String(pages[pages.length - 1] ?? 1).length);
  for (const [first, last] of contiguousRuns(pages)) {
    const prefix = join(outDir, `render-${first}`);
    const args = ["-r", String(options.dpi), "-f", String(first), "-l", String(last)];
    if (options.format === "png") args.push("-png");
    else args.push("-jpeg", "-jpegopt", `quality=${options.quality}`);
    const { code, stderr } = await runTool("pdftoppm", [...args, pdf, prefix], deadline);
    if (code !== 0) {
      throw new ConvertError("convert.engine_failure", `page rendering failed: ${firstLine(stderr)}`, { retryable: true });
    }
    const rendered = (await readdir(outDir)).filter((f) => f.startsWith(`render-${first}-`));
    for (const file of rendered) {
      const page = Number(/-(\d+)\.\w+$/.exec(file)?.[1]);
      const path = join(outDir, `page-${String(page).padStart(digits, "0")}.${extension}`);
      await rename(join(outDir, file), path);
      images.push({ page, path });
    }
  }
  images.sort((a, b) => a.page - b.page);
  if (images.length !== pages.length) {
    throw new ConvertError("convert.engine_failure", `rendered ${images.length} of ${pages.length} pages`, { retryable: true });
  }
  return images;
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
