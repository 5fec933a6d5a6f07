// One conversion, free of HTTP: detect the source, run LibreOffice on a pool instance, then render pages,
// split sheets, inline side files or zip — and say what the result is. The document enters an instance's (or
// a render slot's) private cell only once one is assigned, named after the uploader's file.

import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { escapeCsvFormulas } from "./engine/csv.ts";
import { csvImportOptions, textImportOptions } from "./engine/csv-import.ts";
import {
  CSV_IMPORT_FILTER,
  csvImportTextOnly,
  engineOutputExtension,
  epubFilterData,
  exportFilter,
  type OfficeFamily,
  SVG_PER_PAGE,
} from "./engine/filters.ts";
import { inlineSideFiles } from "./engine/html.ts";
import type { BridgeOutput, BridgeReply, InstanceJob } from "./engine/instance.ts";
import { pdfPageCount, rasterize } from "./engine/raster.ts";
import type { ToolBox, ToolSandbox } from "./engine/tools.ts";
import { writeZip } from "./engine/zip.ts";
import { ConvertError } from "./errors.ts";
import { imageTargets, isSource, type SourceName, sources, supports, type TargetName, targets } from "./formats.ts";
import { inspectInput, pdfPagesFromStructure } from "./inspect.ts";
import { type ConvertOptions, exportedPageNumbers, pageRangeText, selectPages } from "./options.ts";
import type { Pool } from "./pool.ts";

export interface ConversionRequest {
  /** The uploaded document. */
  input: string;
  /** Empty private directory for outputs; the caller removes it. */
  workDir: string;
  target: TargetName;
  /** Source extension the caller claims (`from`), or the extension of `filename`. */
  declaredSource: string | undefined;
  /** The uploader's file name: the document carries it (sanitised) into LibreOffice. */
  filename?: string | undefined;
  options: ConvertOptions;
  signal?: AbortSignal;
}

export interface ConversionResult {
  path: string;
  mediaType: string;
  extension: string;
  files: number;
  sourceFormat: SourceName;
  inputPages: number | undefined;
  outputPages: number | undefined;
  queueMs: number;
}

const PDFA_VERSION = { "1b": 1, "2b": 2, "3b": 3 } as const;

export class Converter {
  private readonly pool: Pool;
  /** pdfinfo/pdftoppm slots: at most one conversion renders per slot, in the slot's own cell. */
  private readonly tools: ToolBox;

  constructor(pool: Pool, tools: ToolBox) {
    this.pool = pool;
    this.tools = tools;
  }

  async convert(request: ConversionRequest): Promise<ConversionResult> {
    const { target, options } = request;
    if ((await stat(request.input)).size === 0)
      throw new ConvertError("convert.empty_input", "the request body is empty");
    const { source } = await inspectInput(request.input, request.declaredSource);
    if (!supports(source, target)) {
      throw new ConvertError("convert.unsupported_format_pair", `${source} cannot be converted to ${target}`, {
        sourceFormat: source,
        targetFormat: target,
        supportedTargets: sources[source].targets,
      });
    }
    // LibreOffice's type detection trusts the extension first: give it the one the bytes proved, on the
    // uploader's own name (Calc's page header, Writer's file-name fields and HTML titles print it).
    const name = workFileName(request.filename, source);
    const outDir = join(request.workDir, "out");
    await mkdir(outDir);

    if (sources[source].family === "pdf") {
      const deadline = Date.now() + options.timeoutMs;
      return this.tools.use(async (tools) => {
        const pdf = await tools.cell.place(request.input, name);
        const count = await pdfPageCount(tools, pdf, deadline);
        checkPageLimit(count, options.maxPages);
        const images = await this.renderPages(tools, pdf, count, request, outDir, deadline);
        return { ...images, sourceFormat: source, inputPages: count, queueMs: 0 };
      });
    }

    const format = sources[source];
    const family = format.family as OfficeFamily;
    const { filter, filterOptions } = exportFilter(family, target);
    const outputName = `result.${engineOutputExtension(target)}`;
    const command: InstanceJob["command"] = { family, filter };
    if (filterOptions) command.filterOptions = filterOptions;
    // Imports LibreOffice's own type detection gets wrong, or that ask a question without their options.
    if (format.importFilter) command.inputFilter = format.importFilter;
    if (format.importOptions) command.inputFilterOptions = format.importOptions;
    if (source === "csv") {
      command.inputFilter = CSV_IMPORT_FILTER;
      command.inputFilterOptions = csvImportTextOnly(await csvImportOptions(request.input));
    }
    if (source === "txt") {
      command.inputFilter = "Text (encoded)";
      command.inputFilterOptions = await textImportOptions(request.input);
    }
    if (format.picture) command.picture = true;
    if (target === "pdf" || imageTargets.has(target)) {
      const data: Record<string, string | number> = {};
      // Images too: one page of a long document should not cost exporting (and laying out) all of them.
      if (options.pages) data.PageRange = pageRangeText(options.pages);
      if (options.pdfa) data.SelectPdfVersion = PDFA_VERSION[options.pdfa];
      if (Object.keys(data).length) command.filterData = data;
    }
    if (target === "epub") command.filterData = epubFilterData(name.slice(0, name.lastIndexOf(".")));
    if (filter === SVG_PER_PAGE && options.pages) command.pageRange = pageRangeText(options.pages);
    if (target === "csv") command.sheet = options.sheet ?? 0; // 0: the active sheet
    if (options.maxPages !== undefined) command.maxPages = options.maxPages;

    const job: InstanceJob = { input: request.input, name, outputName, outDir, command };
    const { reply, startedAt, queueMs } = await this.pool.run(job, options.timeoutMs, request.signal);
    if (!reply.ok) throw bridgeError(reply);
    // Gone while LibreOffice finished: the page rendering and packaging below would be for nobody.
    if (request.signal?.aborted) throw new ConvertError("convert.busy", "the client went away during the conversion");
    const deadline = startedAt + options.timeoutMs;
    const inputPages = reply.inputPages ?? undefined;
    const outputs = reply.outputs;
    const first = outputs[0]?.path ?? join(outDir, outputName);

    if (imageTargets.has(target)) {
      return this.tools.use(async (tools) => {
        const pdf = await tools.cell.place(first, "export.pdf");
        const count = await pdfPageCount(tools, pdf, deadline);
        // The PDF holds only the selected pages: render all of it, named by their page numbers in the document.
        const numbers = options.pages ? exportedPageNumbers(options.pages, count) : undefined;
        const images = await this.renderPages(tools, pdf, count, request, outDir, deadline, numbers);
        return { ...images, sourceFormat: source, inputPages, queueMs };
      });
    }
    if (target === "pdf") {
      const count =
        (await pdfPagesFromStructure(first)) ??
        (await this.tools.use(async (tools) =>
          pdfPageCount(tools, await tools.cell.place(first, "export.pdf"), deadline),
        ));
      if (options.pages) {
        const wanted = countSelected(options, count);
        if (count < wanted) {
          throw new ConvertError(
            "convert.invalid_option",
            `pages ${pageRangeText(options.pages)} asked for ${wanted} page(s) but only ${count} exist in that range`,
            { option: "pages" },
          );
        }
      }
      return single(first, target, source, inputPages, count, queueMs);
    }
    if (filter === SVG_PER_PAGE) {
      if (outputs.length === 1) return single(first, target, source, inputPages, 1, queueMs);
      const zip = join(outDir, "pages.zip");
      await writeZip(
        zip,
        outputs.map((o) => ({ name: o.path.slice(o.path.lastIndexOf("/") + 1), path: o.path, compress: true })),
      );
      return zipResult(zip, outputs.length, source, inputPages, outputs.length, queueMs);
    }
    if (target === "csv" && options.escapeFormulas) for (const output of outputs) await escapeCsvFormulas(output.path);
    if (target === "csv" && options.sheet === "all") {
      const zip = join(outDir, "sheets.zip");
      await writeZip(
        zip,
        outputs.map((o) => ({ name: sheetFileName(o), path: o.path, compress: true })),
      );
      return zipResult(zip, outputs.length, source, inputPages, undefined, queueMs);
    }
    if (target === "html") await inlineSideFiles(first, outDir);
    if (target === "txt") await stripUtf8Bom(first, join(outDir, "result-nobom.txt"));
    // A deck saved as another deck format holds every slide LibreOffice loaded: its exact slide count, which
    // the API prices a re-export of this output by.
    const outputSlides = isSource(target) && sources[target].countedUnit === "slides" ? inputPages : undefined;
    return single(first, target, source, inputPages, outputSlides, queueMs);
  }

  /**
   * Renders the selected pages of `pdf`; with `pageNumbers` (a PDF exported with a page range) it renders every
   * page of the PDF and names page i by `pageNumbers[i - 1]`.
   */
  private async renderPages(
    tools: ToolSandbox,
    pdf: string,
    count: number,
    request: ConversionRequest,
    outDir: string,
    deadline: number,
    pageNumbers?: readonly number[],
  ): Promise<Omit<ConversionResult, "sourceFormat" | "inputPages" | "queueMs">> {
    const format = request.target as "png" | "jpg";
    const { options } = request;
    if (count === 0) throw new ConvertError("convert.corrupt_input", "the document has no pages to render");
    const pages = pageNumbers ? selectPages(undefined, count) : selectPages(options.pages, count);
    const imagesDir = join(outDir, "pages");
    await mkdir(imagesDir);
    const images = await rasterize(
      tools,
      pdf,
      pages,
      { format, dpi: options.dpi, quality: options.quality },
      imagesDir,
      deadline,
      pageNumbers,
    );
    if (images.length === 1) {
      return {
        path: images[0]!.path,
        mediaType: targets[format].mediaType,
        extension: format,
        files: 1,
        outputPages: 1,
      };
    }
    const zip = join(outDir, "pages.zip");
    await writeZip(
      zip,
      images.map((image) => ({ name: image.path.slice(imagesDir.length + 1), path: image.path, compress: false })),
    );
    return {
      path: zip,
      mediaType: "application/zip",
      extension: "zip",
      files: images.length,
      outputPages: images.length,
    };
  }
}

function bridgeError(reply: Extract<BridgeReply, { ok: false }>): ConvertError {
  const { error: code, detail, option } = reply;
  switch (code) {
    case "password_protected":
      return new ConvertError("convert.password_protected", detail);
    case "corrupt_input":
      return new ConvertError("convert.corrupt_input", detail);
    case "invalid_option":
      return new ConvertError("convert.invalid_option", detail, option ? { option } : {});
    case "too_many_pages":
      return new ConvertError("convert.too_many_pages", detail, { pages: reply.pages, maxPages: reply.maxPages });
    default:
      return new ConvertError("convert.engine_failure", detail, { retryable: true });
  }
}

function checkPageLimit(pages: number, maxPages: number | undefined): void {
  if (maxPages !== undefined && pages > maxPages) {
    throw new ConvertError(
      "convert.too_many_pages",
      `the document has ${pages} pages, more than the ${maxPages} allowed`,
      { pages, maxPages },
    );
  }
}

/**
 * The document's file name inside LibreOffice: the uploader's name without its extension, stripped of path
 * parts, control, bidi and file-system-hostile characters, at most 200 bytes, with the extension the bytes
 * proved. "document.<ext>" when nothing is left.
 */
export function workFileName(filename: string | undefined, source: string): string {
  const base = (filename ?? "").split(/[\\/]/).pop() ?? "";
  const cleaned = base
    .replace(/\.[A-Za-z0-9]{1,8}$/, "")
    .normalize("NFC")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
    .replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff:*?"<>|]+/g, "_")
    .replace(/^[.\s]+|[.\s]+$/g, "");
  let stem = "";
  for (const char of cleaned) {
    if (Buffer.byteLength(stem + char) > 200) break;
    stem += char;
  }
  return `${stem || "document"}.${source}`;
}

function countSelected(options: ConvertOptions, count: number): number {
  let total = 0;
  for (const { first, last } of options.pages ?? []) total += (last ?? count) - first + 1;
  return total;
}

function single(
  path: string,
  target: TargetName,
  source: SourceName,
  inputPages: number | undefined,
  outputPages: number | undefined,
  queueMs: number,
): ConversionResult {
  return {
    path,
    mediaType: targets[target].mediaType,
    extension: target,
    files: 1,
    sourceFormat: source,
    inputPages,
    outputPages,
    queueMs,
  };
}

function zipResult(
  path: string,
  files: number,
  source: SourceName,
  inputPages: number | undefined,
  outputPages: number | undefined,
  queueMs: number,
): ConversionResult {
  return {
    path,
    mediaType: "application/zip",
    extension: "zip",
    files,
    sourceFormat: source,
    inputPages,
    outputPages,
    queueMs,
  };
}

/** `<n>-<sheet name>.csv`, the name reduced to characters safe in any file system. */
export function sheetFileName(output: BridgeOutput): string {
  const name = (output.name ?? "sheet")
    .normalize("NFC")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]+/g, "_")
    .replace(/^[.\s]+|[.\s]+$/g, "")
    .slice(0, 100);
  return `${output.sheet ?? 1}-${name || "sheet"}.csv`;
}

/** LibreOffice's "Text (encoded)" UTF-8 output starts with a BOM; charset=utf-8 already says it. */
async function stripUtf8Bom(path: string, scratch: string): Promise<void> {
  const handle = await open(path, "r");
  const head = Buffer.alloc(3);
  await handle.read(head, 0, 3, 0);
  await handle.close();
  if (head[0] !== 0xef || head[1] !== 0xbb || head[2] !== 0xbf) return;
  await pipeline(createReadStream(path, { start: 3 }), createWriteStream(scratch));
  await rename(scratch, path);
}
