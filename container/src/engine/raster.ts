// PDF page counts (pdfinfo) and page images (pdftoppm, plus our PNG encoder), one file per page named
// page-NNN.<ext>. poppler runs in a render slot's cell (tools.ts) on a PDF placed there; what it writes is
// claimed out of the cell (plain files only) into the server's own directory before the server reads it.

import { readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { ConvertError } from "../errors.ts";
import { ppmToPng } from "./png.ts";
import { runTool, type ToolSandbox } from "./tools.ts";

/** Pages of `pdf`, a file in the sandbox's cell. */
export async function pdfPageCount(sandbox: ToolSandbox, pdf: string, deadline: number): Promise<number> {
  const { code, stdout, stderr } = await runTool("pdfinfo", [sandbox.cell.inner(pdf)], deadline, sandbox);
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
 * Renders `pages` (sorted, within the PDF) of `pdf` (in the sandbox's cell) into `outDir`. Images are named by
 * page number, or by `labels[i]` for `pages[i]` when the PDF holds a selection of a document's pages.
 */
export async function rasterize(
  sandbox: ToolSandbox,
  pdf: string,
  pages: readonly number[],
  options: RasterOptions,
  outDir: string,
  deadline: number,
  labels?: readonly number[],
): Promise<PageImage[]> {
  const labelOf = new Map(pages.map((page, i) => [page, labels?.[i] ?? page]));
  const digits = Math.max(3, String(labelOf.get(pages[pages.length - 1]!) ?? 1).length);
  const nameOf = (page: number) =>
    join(outDir, `page-${String(labelOf.get(page) ?? page).padStart(digits, "0")}.${options.format}`);
  const budget = new OutputBudget(sandbox.maxOutputBytes);
  const images =
    options.format === "png"
      ? await renderPng(sandbox, pdf, pages, options.dpi, outDir, nameOf, deadline, budget)
      : await renderJpeg(sandbox, pdf, pages, options, outDir, nameOf, deadline, budget);
  if (images.length !== pages.length) {
    throw new ConvertError("convert.engine_failure", `rendered ${images.length} of ${pages.length} pages`, {
      retryable: true,
    });
  }
  return images;
}

/** The rendered files of one conversion, against the output cap. */
class OutputBudget {
  private total = 0;
  private readonly cap: number | undefined;
  constructor(cap: number | undefined) {
    this.cap = cap;
  }
  add(bytes: number): void {
    this.total += bytes;
    if (this.cap !== undefined && this.total > this.cap) {
      throw new ConvertError(
        "convert.resource_limit",
        `the page images are larger than the ${Math.round(this.cap / 1048576)} MiB output cap`,
        { resource: "output" },
      );
    }
  }
}

/** JPEG straight from pdftoppm (its libjpeg path is fast), one pdftoppm per run of consecutive pages. */
async function renderJpeg(
  sandbox: ToolSandbox,
  pdf: string,
  pages: readonly number[],
  options: RasterOptions,
  _outDir: string,
  nameOf: (page: number) => string,
  deadline: number,
  budget: OutputBudget,
): Promise<PageImage[]> {
  const images: PageImage[] = [];
  const { cell, out } = sandbox;
  for (const [first, last] of contiguousRuns(pages)) {
    const prefix = join(out, `render-${first}`);
    const args = [
      "-r",
      String(options.dpi),
      "-f",
      String(first),
      "-l",
      String(last),
      "-jpeg",
      "-jpegopt",
      `quality=${options.quality}`,
    ];
    await pdftoppm(sandbox, [...args, cell.inner(pdf), cell.inner(prefix)], deadline);
    const rendered = (await readdir(out)).filter((f) => f.startsWith(`render-${first}-`));
    for (const file of rendered) {
      const page = Number(/-(\d+)\.\w+$/.exec(file)?.[1]);
      if (!pages.includes(page)) continue;
      budget.add(await cell.claim(join(out, file), nameOf(page)));
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
  sandbox: ToolSandbox,
  pdf: string,
  pages: readonly number[],
  dpi: number,
  outDir: string,
  nameOf: (page: number) => string,
  deadline: number,
  budget: OutputBudget,
): Promise<PageImage[]> {
  const images: PageImage[] = [];
  const { cell, out } = sandbox;
  let encoding: Promise<void> = Promise.resolve();
  try {
    for (const page of pages) {
      const raw = join(out, `raw-${page}`);
      await pdftoppm(
        sandbox,
        ["-r", String(dpi), "-f", String(page), "-l", String(page), "-singlefile", cell.inner(pdf), cell.inner(raw)],
        deadline,
      );
      const claimed = join(outDir, `raw-${page}.ppm`);
      await cell.claim(`${raw}.ppm`, claimed);
      await encoding;
      encoding = ppmToPng(claimed, nameOf(page), dpi).then(async () => {
        await unlink(claimed);
        budget.add((await stat(nameOf(page))).size);
      });
      images.push({ page, path: nameOf(page) });
    }
    await encoding;
  } catch (error) {
    await encoding.catch(() => {});
    if (error instanceof ConvertError) throw error;
    throw new ConvertError("convert.engine_failure", `PNG encoding failed: ${(error as Error).message}`, {
      retryable: true,
    });
  }
  if (Date.now() > deadline)
    throw new ConvertError("convert.timeout", "the conversion ran out of time while rendering pages");
  return images;
}

async function pdftoppm(sandbox: ToolSandbox, args: string[], deadline: number): Promise<void> {
  const { code, stderr } = await runTool("pdftoppm", args, deadline, sandbox);
  if (code !== 0) {
    throw new ConvertError("convert.engine_failure", `page rendering failed: ${firstLine(stderr)}`, {
      retryable: true,
    });
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
