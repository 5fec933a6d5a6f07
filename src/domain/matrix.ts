// The converter's format matrix, imported at build time: one source of truth for the converter's
// GET /formats and the API's catalog and validation.
import { sources, targets } from "../../container/src/formats.ts";

export const MATRIX: {
  sources: Record<string, { category: string; mediaType: string; targets: readonly string[]; countedUnit?: "pages" | "slides" }>;
  targets: Record<string, { mediaType: string; multiPage: boolean; splitBy?: "page" | "sheet"; options: readonly string[] }>;
} = { sources, targets };
