// Starts container/src/server.ts as a child process on a free port with its own temp directory, and checks
// on stop that it left no LibreOffice process and no file behind.

import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { singleInstancePipeSuffix } from "../src/engine/leftovers.ts";

const serverScript = fileURLToPath(new URL("../src/server.ts", import.meta.url));

/** Every test server requires this secret (helpers.ts sends it). */
export const TEST_SECRET = "docconv-converter-test-secret";

export interface TestServer {
  url: string;
  pid: number;
  tempDir: string;
  /** Every log line the server wrote (JSON), for tests that read what it said. */
  log: string[];
  /** SIGTERM, wait for exit; returns what was left behind (should be nothing). */
  stop(): Promise<{ processes: string[]; files: string[]; exitCode: number | null }>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const tempDir = mkdtempSync(join(tmpdir(), "docconv-test-"));
  // The sandbox uids must be able to traverse to their cells (as below the OS temp dir).
  chmodSync(tempDir, 0o711);
  const child = spawn(process.execPath, [serverScript], {
    env: {
      ...process.env,
      CONVERTER_PORT: "0",
      CONVERTER_HOST: "127.0.0.1",
      CONVERTER_TEMP_DIR: tempDir,
      CONVERTER_LOG_LEVEL: "info",
      CONVERTER_SECRET: TEST_SECRET,
      ...env,
    },
    stdio: ["ignore", "inherit", "pipe"],
  });
  const log: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen: ${log.join("\n")}`)), 60_000);
    let buffered = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      for (let i; (i = buffered.indexOf("\n")) >= 0; buffered = buffered.slice(i + 1)) {
        const line = buffered.slice(0, i);
        log.push(line);
        if (log.length > 2000) log.shift();
        if (process.env.CONVERTER_TEST_VERBOSE) process.stderr.write(`${line}\n`);
        try {
          const event = JSON.parse(line) as { message?: string; port?: number };
          if (event.message === "listening" && event.port) {
            clearTimeout(timer);
            resolve(event.port);
          }
        } catch {
          /* not a log line */
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${log.join("\n")}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    const res = await fetch(`${url}/health`).catch(() => undefined);
    if (res?.status === 200) break;
    if (Date.now() > deadline) throw new Error(`server not healthy: ${log.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    tempDir,
    log,
    async stop() {
      // The instances alive now; their single-instance pipes must be gone after SIGTERM.
      const instanceProfiles = readdirSync(tempDir)
        .filter((d) => d.startsWith("docconv-"))
        .flatMap((root) =>
          readdirSync(join(tempDir, root))
            .filter((d) => d.startsWith("instance-"))
            .map((d) => join(tempDir, root, d, "profile")),
        );
      const exitCode =
        child.exitCode ??
        (await new Promise<number | null>((resolve) => {
          const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
          child.once("exit", (code) => {
            clearTimeout(kill);
            resolve(code);
          });
          child.kill("SIGTERM");
        }));
      const processes = processesMentioning(`docconv_${pid}_`).concat(processesMentioning(tempDir));
      const suffixes = instanceProfiles.map(singleInstancePipeSuffix);
      const files = readdirSync(tempDir);
      // Whatever uid the instances ran as (OSL_PIPE_<uid>_…).
      const pipes = readdirSync("/tmp").filter(
        (f) =>
          f.startsWith("OSL_PIPE_") && (f.includes(`docconv_${pid}_`) || suffixes.some((suffix) => f.endsWith(suffix))),
      );
      rmSync(tempDir, { recursive: true, force: true });
      return { processes, files: files.concat(pipes), exitCode };
    },
  };
}

/** Command lines of live processes that mention `needle` (LibreOffice and bridges carry their pipe name). */
export function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      const state = /^State:\s+(\w)/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1];
      if (cmdline.includes(needle) && state !== "Z") found.push(`${entry}: ${cmdline.slice(0, 200)}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** GET /health of a test server. */
export async function health(server: TestServer): Promise<any> {
  return (await fetch(`${server.url}/health`)).json();
}

/** Polls /health until `predicate` holds; returns that health. */
export async function waitForHealth(
  server: TestServer,
  predicate: (h: any) => boolean,
  what: string,
  ms = 30_000,
): Promise<any> {
  for (const deadline = Date.now() + ms; ; ) {
    const h = await health(server);
    if (predicate(h)) return h;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(h)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** soffice.bin processes of a test server, by pid. */
export function sofficePids(server: TestServer): number[] {
  return processesMentioning(`docconv_${server.pid}_`)
    .filter((line) => line.includes("soffice.bin --headless"))
    .map((line) => Number(line.split(":")[0]));
}
