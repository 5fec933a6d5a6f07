// Calc's HTML export writes images and charts as side files next to the page. We inline them as data: URIs
// so every HTML result is one self-contained file (Writer's export does this itself with EmbedImages).

import { readdir, readFile, writeFile } from "node:fs/promises";
import { basename, extname, join } from "node:path";

const imageTypes: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".bmp": "image/bmp",
  ".wmf": "image/wmf",
  ".emf": "image/emf",
};

/** Inlines the files of `dir` that `htmlPath` references; returns how many were inlined. */
export async function inlineSideFiles(htmlPath: string, dir: string): Promise<number> {
  const own = basename(htmlPath);
  const sideFiles = (await readdir(dir)).filter((f) => f !== own && imageTypes[extname(f).toLowerCase()]);
  if (sideFiles.length === 0) return 0;
  let html = await readFile(htmlPath, "utf8");
  let inlined = 0;
  for (const file of sideFiles) {
    const reference = new RegExp(`(src|href)=(["'])${escapeRegExp(file)}\\2`, "g");
    if (!reference.test(html)) continue;
    const data = await readFile(join(dir, file));
    const uri = `data:${imageTypes[extname(file).toLowerCase()]};base64,${data.toString("base64")}`;
    html = html.replace(reference, (_match, attribute: string, quote: string) => `${attribute}=${quote}${uri}${quote}`);
    inlined++;
  }
  if (inlined > 0) await writeFile(htmlPath, html);
  return inlined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
