// Build step: `node src/prepare-profile.ts /opt/docconv/profile` creates the LibreOffice profile template that
// CONVERTER_PROFILE_TEMPLATE points to, so no instance pays LibreOffice's first-start restart at run time.

import { loadConfig } from "./config.ts";
import { ensureProfileTemplate } from "./engine/profile.ts";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node src/prepare-profile.ts <profile directory>\n");
  process.exit(2);
}
await ensureProfileTemplate(dir, loadConfig().soffice);
process.stdout.write(`LibreOffice profile template ready in ${dir}\n`);
