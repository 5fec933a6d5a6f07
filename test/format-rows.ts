// test/fixtures/formats/formats.tsv as data for the tests (columns: test/fixtures/formats/README.md). A row is
// one format (a few extensions have one row per variant: xml, odt, hwp); a new row is a new test.
import { fixture } from "./harness";

export type FormatStatus = "converts" | "detected-only" | "left-out";

export interface FormatRow {
  extension: string;
  /** text, web, spreadsheet, presentation, drawing, image, formula, pdf; "-" where LibreOffice has no type. */
  family: string;
  filter: string;
  detection: string;
  /** Path under test/fixtures/, or null ("none"). */
  fixture: string | null;
  /** Pages LibreOffice 7.4's own CLI gives for the fixture as PDF. */
  cliPdfPages: number | null;
  /** A string pdftotext finds in that PDF; empty for pictures. */
  textProbe: string;
  status: FormatStatus;
  reason: string;
  converterNotes: string;
  listed: boolean;
}

export function parseFormatRows(tsv: string): FormatRow[] {
  const [header, ...lines] = tsv.split("\n").filter((line) => line.trim() !== "");
  const columns = header!.split("\t");
  return lines.map((line) => {
    const cells = line.split("\t");
    const cell = (name: string) => cells[columns.indexOf(name)] ?? "";
    const status = cell("status");
    if (status !== "converts" && status !== "detected-only" && status !== "left-out")
      throw new Error(`formats.tsv: status '${status}' in ${line}`);
    return {
      extension: cell("extension"),
      family: cell("family"),
      filter: cell("libreoffice_import_filter"),
      detection: cell("detection"),
      fixture: cell("fixture") === "none" || cell("fixture") === "" ? null : cell("fixture"),
      cliPdfPages: cell("cli_pdf_pages") === "" ? null : Number(cell("cli_pdf_pages")),
      textProbe: cell("text_probe"),
      status,
      reason: cell("reason"),
      converterNotes: cell("converter_notes"),
      listed: cell("listed") === "in issue list",
    };
  });
}

export const formatRows: FormatRow[] = parseFormatRows(new TextDecoder().decode(fixture("formats/formats.tsv")));

/** A row's name in test titles: the extension, and the fixture where an extension has several rows. */
export const rowName = (row: FormatRow) =>
  formatRows.filter((r) => r.extension === row.extension).length > 1
    ? `${row.extension} (${row.fixture ?? row.family})`
    : row.extension;

/** What the fixture is called when uploaded: its own name with the row's extension (jpg-raw-text.jpeg). */
export function uploadName(row: FormatRow): string {
  const base = row.fixture!.split("/").pop()!;
  const dot = base.lastIndexOf(".");
  return `${dot > 0 ? base.slice(0, dot) : base}.${row.extension}`;
}

/**
 * The family in the format table (container/src/formats.ts: the LibreOffice module that opens a source) for a
 * row's family. HTML opens in Writer; pictures open in Draw. uof is either a spreadsheet or a presentation:
 * its content decides.
 */
const tableFamilyOf: Record<string, readonly string[]> = {
  text: ["writer"],
  web: ["writer"],
  spreadsheet: ["calc"],
  presentation: ["impress"],
  drawing: ["draw"],
  image: ["draw"],
  formula: ["math"],
  pdf: ["pdf"],
  "spreadsheet/presentation": ["calc", "impress"],
};

export function tableFamilies(row: FormatRow): readonly string[] {
  const families = tableFamilyOf[row.family];
  if (!families) throw new Error(`formats.tsv: no table family for the row family '${row.family}' (${row.extension})`);
  return families;
}
