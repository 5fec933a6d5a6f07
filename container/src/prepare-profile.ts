// Build step: `node src/prepare-profile.ts /opt/docconv/profile` creates the LibreOffice profile template that
// CONVERTER_PROFILE_TEMPLATE points to, so no instance pays LibreOffice's first-start restart at run time.

import { chmod, readdir } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "./config.ts";
import { ensureProfileTemplate } from "./engine/profile.ts";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node src/prepare-profile.ts <profile directory>\n");
  process.exit(2);
}
await ensureProfileTemplate(dir, loadConfig().soffice);
// LibreOffice creates the profile private to its user (0700/0600); the server may run as another user and only
// copies the template (each instance's copy is then made private to the instance's uid), so make it readable by all.
await makeReadable(dir);
process.stdout.write(`LibreOffice profile template ready in ${dir}\n`);

async function makeReadable(path: string): Promise<void> {
  const entries = await readdir(path, { withFileTypes: true });
  await chmod(path, 0o755);
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await makeReadable(child);
    else await chmod(child, 0o644);
  }
}
