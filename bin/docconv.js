#!/usr/bin/env node
// The `docconv` command: runs src/client/cli.ts through Node's TypeScript type stripping (on by default
// from Node 22.18; behind --experimental-strip-types from 22.6).
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const cli = fileURLToPath(new URL("../src/client/cli.ts", import.meta.url));
const [major, minor] = process.versions.node.split(".").map(Number);

if (major < 22 || (major === 22 && minor < 6)) {
  process.stderr.write(`docconv needs Node 22.6 or newer; this is ${process.version}\n`);
  process.exit(2);
} else if (process.features.typescript) {
  await import(pathToFileURL(cli).href);
} else {
  const run = spawnSync(
    process.execPath,
    ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", cli, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(run.status ?? 1);
}
