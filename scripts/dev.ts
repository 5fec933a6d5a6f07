// npm run dev: the whole local stack in one command. Applies the D1 migrations to the local database,
// starts the converter (container/src/server.ts) and `wrangler dev`, and says when both answer: the converter
// on its own /health (its LibreOffice pool is up), the API on /health (the Worker and D1; it never asks the
// converter, which in production would wake a container).
// Ctrl-C stops everything.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

const API_PORT = Number(process.env.PORT ?? 8787);
const CONVERTER_PORT = Number(process.env.CONVERTER_PORT ?? 8080);
const converterUrl = `http://127.0.0.1:${CONVERTER_PORT}`;
const apiUrl = `http://127.0.0.1:${API_PORT}`;
const quietEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_HIDE_BANNER: "true",
  NO_UPDATE_NOTIFIER: "1",
};
const wrangler = "node_modules/wrangler/bin/wrangler.js";

function log(message: string) {
  console.log(`[dev] ${message}`);
}

// Local secrets and the switch to the local converter live in .dev.vars (never committed).
function ensureDevVars() {
  const wanted: Record<string, string> = {
    CONVERTER_URL: converterUrl,
    DOWNLOAD_SIGNING_KEY: randomBytes(32).toString("hex"),
    // The Worker sends it to the converter, which refuses requests without it.
    CONVERTER_SECRET: randomBytes(32).toString("hex"),
    ALLOW_LOOPBACK_WEBHOOKS: "true",
  };
  const lines = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8").split("\n").filter(Boolean) : [];
  const have = new Map(lines.map((l) => [l.split("=")[0]!, l] as const));
  have.set("CONVERTER_URL", `CONVERTER_URL=${converterUrl}`);
  for (const [k, v] of Object.entries(wanted)) if (!have.has(k)) have.set(k, `${k}=${v}`);
  writeFileSync(".dev.vars", `${[...have.values()].join("\n")}\n`);
  return have.get("CONVERTER_SECRET")!.slice("CONVERTER_SECRET=".length);
}

async function waitFor(url: string, child: ChildProcess, name: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${name} did not answer ${url} within ${timeoutMs / 1000} s`);
}

const children: ChildProcess[] = [];
let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  setTimeout(() => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    process.exit(code);
  }, 8000).unref();
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once("exit", r))))).then(() =>
    process.exit(code),
  );
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

try {
  const converterSecret = ensureDevVars();
  log("applying D1 migrations to the local database");
  execFileSync(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local"], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...quietEnv, CI: "true" },
  });

  log(`starting the converter on ${converterUrl}`);
  const converter = spawn(process.execPath, ["container/src/server.ts"], {
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      CONVERTER_PORT: String(CONVERTER_PORT),
      CONVERTER_HOST: "127.0.0.1",
      CONVERTER_SECRET: converterSecret,
    },
  });
  children.push(converter);

  log(`starting wrangler dev on ${apiUrl}`);
  const api = spawn(
    process.execPath,
    [
      wrangler,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(API_PORT),
      "--show-interactive-dev-session=false",
      "--test-scheduled",
    ],
    {
      stdio: ["ignore", "inherit", "inherit"],
      env: quietEnv,
    },
  );
  children.push(api);
  for (const child of children)
    child.once("exit", (code) => !stopping && (log(`a process exited (${code}); stopping`), stop(1)));

  await waitFor(`${converterUrl}/health`, converter, "converter", 120_000);
  await waitFor(`${apiUrl}/health`, api, "API", 120_000);
  log(`docconv is ready: ${apiUrl} (converter ${converterUrl}). Create a key with: npm run key`);
  // wrangler dev does not fire cron triggers; run the sweeper as production would, so jobs stranded by a
  // reload of the Worker (it restarts when src/ changes) are taken back.
  setInterval(
    () => void fetch(`${apiUrl}/__scheduled?cron=${encodeURIComponent("*/5 * * * *")}`).catch(() => undefined),
    60_000,
  ).unref();
} catch (err) {
  console.error(`[dev] ${(err as Error).message}`);
  stop(1);
}
