// What every e2e test needs: the running stack's URL and key, a client, fixtures from disk, and the CLI.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import { DocconvClient } from "../../src/client/index.ts";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const fixturesDir = fileURLToPath(new URL("../fixtures/", import.meta.url));

export const apiUrl = () => inject("apiUrl");
export const apiKey = () => inject("apiKey");

export function client(key: string | undefined = apiKey()): DocconvClient {
  return new DocconvClient({ baseUrl: apiUrl(), apiKey: key });
}

export function fixtureBlob(name: string): Blob {
  return new Blob([readFileSync(fixturesDir + name)]);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/docconv.js with this Node; the stack's URL and key come through the environment unless overridden. */
export function cli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${root}/bin/docconv.js`, ...args], {
      cwd: options.cwd ?? root,
      env: { ...process.env, DOCCONV_API_URL: apiUrl(), DOCCONV_API_KEY: apiKey(), ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
