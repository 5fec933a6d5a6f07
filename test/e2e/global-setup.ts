// One real local stack for every e2e test file: the converter process and `wrangler dev` on free ports, with
// their own D1/R2/Queues state (--persist-to) and variables (--env-file) in a temporary directory. Own state
// and own variables, not `npm run dev`: that one rewrites the shared .dev.vars and shares .wrangler/state with
// whoever else runs a stack in this tree. A key comes from `npm run key -- --persist-to <state>`.
//
// DOCCONV_E2E_API_URL + DOCCONV_E2E_API_KEY: test a stack that is already running instead.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { freePort, startConverter } from "../converter-process";

declare module "vitest" {
  export interface ProvidedContext {
    apiUrl: string;
    apiKey: string;
  }
}

const root = fileURLToPath(new URL("../..", import.meta.url));
const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
const quietEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  NO_UPDATE_NOTIFIER: "1",
  CI: "true",
};

function log(message: string) {
  process.stderr.write(`[e2e] ${message}\n`);
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url}/health did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`);
}

/** Stops a process and its children (workerd under wrangler): it was started as a group leader. */
function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.pid === undefined) return resolve();
    const kill = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, 8000);
    child.once("exit", () => {
      clearTimeout(kill);
      resolve();
    });
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {
      resolve();
    }
  });
}

export default async function setup(project: TestProject) {
  if (process.env.DOCCONV_E2E_API_URL && process.env.DOCCONV_E2E_API_KEY) {
    project.provide("apiUrl", process.env.DOCCONV_E2E_API_URL.replace(/\/+$/, ""));
    project.provide("apiKey", process.env.DOCCONV_E2E_API_KEY);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "docconv-e2e-"));
  const state = join(dir, "state");
  const stops: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    log("applying D1 migrations to a fresh local state");
    execFileSync(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
      cwd: root,
      env: quietEnv,
      stdio: ["ignore", "ignore", "inherit"],
    });

    const converter = await startConverter({ CONVERTER_INSTANCES: "2" });
    stops.push(converter.stop);
    log(`converter on ${converter.url}`);

    const [port, inspectorPort] = [await freePort(), await freePort()];
    const apiUrl = `http://127.0.0.1:${port}`;
    const envFile = join(dir, "dev.vars");
    const vars = [
      `CONVERTER_URL=${converter.url}`,
      `CONVERTER_SECRET=${converter.secret}`,
      `DOWNLOAD_SIGNING_KEY=${randomBytes(32).toString("hex")}`,
      "ALLOW_LOOPBACK_WEBHOOKS=true",
      `PUBLIC_BASE_URL=${apiUrl}`,
    ];
    writeFileSync(envFile, `${vars.join("\n")}\n`);
    const args = [
      wrangler,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
    ];
    args.push("--persist-to", state, "--env-file", envFile, "--show-interactive-dev-session=false");
    const api = spawn(process.execPath, args, {
      cwd: root,
      env: quietEnv,
      stdio: ["ignore", "ignore", "inherit"],
      detached: true,
    });
    stops.push(() => stopGroup(api));
    await waitForHealth(apiUrl, api, 120_000);
    log(`API on ${apiUrl}`);

    const keyOutput = execFileSync(
      process.execPath,
      ["scripts/create-key.ts", "--credits", "100000", "--plan", "pro", "--user", "e2e", "--persist-to", state],
      {
        cwd: root,
        env: quietEnv,
        encoding: "utf8",
      },
    );
    const apiKey = keyOutput.trim().split("\n").at(-1)!;
    if (!/^sk_test_/.test(apiKey)) throw new Error(`npm run key printed no key: ${keyOutput}`);

    project.provide("apiUrl", apiUrl);
    project.provide("apiKey", apiKey);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
