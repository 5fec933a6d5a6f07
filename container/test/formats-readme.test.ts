// README.md's Formats section is what scripts/formats-readme.ts generates from the format table and
// formats.tsv: a source added to the table, or a row whose status changes, must show in the README.
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { formatsSection, readmeWithSection } from "../../scripts/formats-readme.ts";

test("README.md's Formats section is generated from the table (run node scripts/formats-readme.ts)", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  expect(readmeWithSection(readme)).toBe(readme);
  expect(readme).toContain(formatsSection());
});
