// formats.tsv (the research: what LibreOffice 7.4 reads, with a fixture per format) and the format table
// (container/src/formats.ts: what docconv accepts) say the same thing: every row that converts or is detected
// is a source of the table with the row's family, every source has such a row, and a left-out format is
// absent from the table and refused by the public API where a sample of it exists. (Detected-only formats —
// LibreOffice imports them, no sample under a usable licence — are recognised from minimal headers in
// container/test/detect.test.ts; here they must be sources of their family like the rest.)
import { describe, expect, it } from "vitest";
import { type SourceName, sources, sourcesByExtension } from "../container/src/formats";
import { formatRows, rowName, tableFamilies, uploadName } from "./format-rows";
import { fixture, form, seedAccount } from "./harness";

const accepted = formatRows.filter((row) => row.status !== "left-out");
const acceptedExtensions = new Set(accepted.map((row) => row.extension));
const sourceNames = Object.keys(sources) as SourceName[];

describe("formats.tsv and the format table", () => {
  it.each(accepted.map((row) => [rowName(row), row] as const))(
    "%s is an extension of a source of its family",
    (_name, row) => {
      const families = (sourcesByExtension.get(row.extension) ?? []).map((name) => sources[name].family);
      expect(families.filter((family) => tableFamilies(row).includes(family))).not.toEqual([]);
    },
  );

  it("every extension of every source has a row of its family that converts or is detected (no format accepted without its proof)", () => {
    const unbacked = sourceNames.flatMap((name) =>
      sources[name].extensions
        .filter(
          (ext) => !accepted.some((row) => row.extension === ext && tableFamilies(row).includes(sources[name].family)),
        )
        .map((ext) => `${name} (.${ext})`),
    );
    expect(unbacked).toEqual([]);
  });

  it("every row that converts has a fixture with LibreOffice's page count (the proof suite's input)", () => {
    const unproven = formatRows.filter(
      (row) => row.status === "converts" && (row.fixture === null || row.cliPdfPages === null),
    );
    expect(unproven.map(rowName)).toEqual([]);
  });

  // hwp and xml also have rows that convert (HWP 3, Word/Excel 2003 XML, DocBook): those left-out rows are
  // variants the detector refuses by content, proven below by their fixtures.
  const leftOut = formatRows.filter((row) => row.status === "left-out" && !acceptedExtensions.has(row.extension));
  it.each(leftOut.map((row) => [rowName(row), row.reason] as const))("%s is left out of the table (%s)", (name) => {
    expect(sourcesByExtension.get(name)).toBeUndefined();
    expect(sourceNames).not.toContain(name);
  });
});

describe("a left-out format is refused by the public API", () => {
  const samples = formatRows.filter((row) => row.status === "left-out" && row.fixture !== null);

  it.each(samples.map((row) => [rowName(row), row] as const))("%s: 415", async (_name, row) => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: uploadName(row), bytes: fixture(row.fixture!) } }),
    });
    expect(res.status, JSON.stringify(res.body)).toBe(415);
    expect(res.body.code).toMatch(/^request\.(unsupported_format|format_mismatch)$/);
  });
});
