// The converter's format matrix, imported at build time: one source of truth for the converter's
// GET /formats and the API's catalog and validation.
import { type Category, sources, targets } from "../../container/src/formats.ts";

export type { Category };

/** Every catalog category with the singular its job names start with (`image.pdf-to-png`). */
export const CATEGORIES: Record<Category, string> = {
  documents: "document",
  spreadsheets: "spreadsheet",
  presentations: "presentation",
  drawings: "drawing",
  images: "image",
};

export const MATRIX: {
  sources: Record<
    string,
    {
      category: Category;
      mediaType: string;
      targets: readonly string[];
      extensions: readonly string[];
      countedUnit?: "pages" | "slides";
    }
  >;
  targets: Record<
    string,
    { mediaType: string; multiPage: boolean; splitBy?: "page" | "sheet"; options: readonly string[] }
  >;
} = { sources, targets };
