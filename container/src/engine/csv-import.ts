// LibreOffice's CSV import options ("separator,quote,charset,first line") from a look at the text's head:
// the separator that splits the first lines most consistently, the charset that decodes them.

import { open } from "node:fs/promises";
import { decodeHead, guessSeparator, HEAD_BYTES, wholeLines } from "../detect/index.ts";

const CHARSETS = { "utf-8": "76", "utf-16le": "65535", "utf-16be": "65535", "windows-1252": "1" } as const;
const CSV_HEAD_BYTES = 64 * 1024;

export async function csvImportOptions(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(Math.max(CSV_HEAD_BYTES, HEAD_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const complete = bytesRead < buffer.length;
    const { text, encoding } = decodeHead(buffer.subarray(0, bytesRead), complete);
    const separator = guessSeparator(wholeLines(text, complete))?.separator ?? ",";
    return `${separator.charCodeAt(0)},34,${CHARSETS[encoding]},1`;
  } finally {
    await handle.close();
  }
}

const TEXT_CHARSETS = {
  "utf-8": "UTF8",
  "utf-16le": "UNICODE",
  "utf-16be": "UNICODE",
  "windows-1252": "MS_1252",
} as const;

/** Writer's "Text (encoded)" import options: the charset that decodes the head (else LibreOffice guesses). */
export async function textImportOptions(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const buffer = new Uint8Array(HEAD_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const { encoding } = decodeHead(buffer.subarray(0, bytesRead), bytesRead < buffer.length);
    return `${TEXT_CHARSETS[encoding]},LF`;
  } finally {
    await handle.close();
  }
}
