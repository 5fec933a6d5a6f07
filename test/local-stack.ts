// The real local stack, as the e2e tests and bench/memory.ts run it: D1 migrations applied to a fresh state, the
// converter on a free port, `wrangler dev` on free ports with its own D1/R2/Queues state (--persist-to) and
// variables (--env-file) in a temporary directory, and a key from `npm run key -- --persist-to <state>`. Own state
// and own variables, not `npm run dev`: that one rewrites the shared .dev.vars and shares .wrangler/state with
// whoever else runs a stack in this tree.
//
// Loaded by vitest and by plain Node (bench/, type stripping): imports name their .ts files, types are marked.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, type RunningConverter, startConverter } from "./converter-process.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
const quietEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  NO_UPDATE_NOTIFIER: "1",
  CI: "true",
};

export interface WranglerDev {
  url: string;
  port: number;
  /** wrangler's own process, leader of the group its workerd processes run in. */
  pid: number;
  /** The Worker's V8 inspector (wrangler's proxy of it; a WebSocket client must send an Origin header). */
  inspectorPort: number;
  stop(): Promise<void>;
}

/**
 * `wrangler dev` for the Worker in `cwd` on 127.0.0.1 (`port`, or a free one), with its state in `state` and
 * `args` added; resolves once GET `health` answers 200 (120 s at most).
 */
export async function startWranglerDev(opts: {
  cwd: string;
  state: string;
  args?: string[];
  health?: string;
  port?: number;
}): Promise<WranglerDev> {
  const [port, inspectorPort] = [opts.port ?? (await freePort()), await freePort()];
  const url = `http://127.0.0.1:${port}`;
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
  args.push("--persist-to", opts.state, "--show-interactive-dev-session=false", ...(opts.args ?? []));
  const child = spawn(process.execPath, args, {
    cwd: opts.cwd,
    env: quietEnv,
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  const stop = () => stopGroup(child);
  try {
    await waitForHealth(`${url}${opts.health ?? "/health"}`, child, 120_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, pid: child.pid!, inspectorPort, stop };
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s (last: ${last})`);
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

export interface LocalStack {
  apiUrl: string;
  apiKey: string;
  converter: RunningConverter;
  wrangler: WranglerDev;
  /** Stops wrangler dev, then the converter, and removes the state. */
  stop(): Promise<void>;
}

/**
 * The stack, in a temporary directory named after `name`. The Worker gets the converter's URL and secret, a
 * random DOWNLOAD_SIGNING_KEY, PUBLIC_BASE_URL = its own URL, then `vars`; the converter gets `converterEnv`.
 * The key is made for `key.user` with `key.credits` on `key.plan`. Whatever started is stopped if a step fails.
 */
export async function startLocalStack(opts: {
  name: string;
  converterEnv?: Record<string, string>;
  vars?: Record<string, string>;
  key: { user: string; credits: number; plan: "free" | "pro" };
  log?: (message: string) => void;
}): Promise<LocalStack> {
  const log = opts.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), `docconv-${opts.name}-`));
  const state = join(dir, "state");
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    log("applying D1 migrations to a fresh local state");
    execFileSync(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
      cwd: root,
      env: quietEnv,
      stdio: ["ignore", "ignore", "inherit"],
    });

    const converter = await startConverter(opts.converterEnv);
    stops.push(converter.stop);
    log(`converter on ${converter.url}`);

    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const envFile = join(dir, "dev.vars");
    const vars = {
      CONVERTER_URL: converter.url,
      CONVERTER_SECRET: converter.secret,
      DOWNLOAD_SIGNING_KEY: randomBytes(32).toString("hex"),
      PUBLIC_BASE_URL: apiUrl,
      ...opts.vars,
    };
    writeFileSync(
      envFile,
      `${Object.entries(vars)
        .map(([name, value]) => `${name}=${value}\n`)
        .join("")}`,
    );
    const api = await startWranglerDev({ cwd: root, state, port, args: ["--env-file", envFile] });
    stops.push(api.stop);
    log(`API on ${apiUrl}`);

    const { user, credits, plan } = opts.key;
    const keyOutput = execFileSync(
      process.execPath,
      ["scripts/create-key.ts", "--credits", String(credits), "--plan", plan, "--user", user, "--persist-to", state],
      { cwd: root, env: quietEnv, encoding: "utf8" },
    );
    const apiKey = keyOutput.trim().split("\n").at(-1)!;
    if (!/^sk_test_/.test(apiKey)) throw new Error(`npm run key printed no key: ${keyOutput}`);
    return { apiUrl, apiKey, converter, wrangler: api, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
