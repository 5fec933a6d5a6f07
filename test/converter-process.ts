// Starts the real converter (container/src/server.ts) as a child process on a free loopback port.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The secret the API tests' converters require; test/vitest.config.ts gives the Worker the same. */
export const TEST_CONVERTER_SECRET = "docconv-api-tests-converter-secret";

export interface RunningConverter {
  port: number;
  url: string;
  pid: number;
  /** The X-Converter-Secret it requires. */
  secret: string;
  stop(): Promise<void>;
}

/** A converter with its own secret (random unless `env.CONVERTER_SECRET` says otherwise). */
export async function startConverter(env: Record<string, string> = {}): Promise<RunningConverter> {
  const port = await freePort();
  const secret = env.CONVERTER_SECRET ?? randomBytes(24).toString("hex");
  const child: ChildProcess = spawn(process.execPath, [`${root}/container/src/server.ts`], {
    cwd: root,
    env: {
      ...process.env,
      CONVERTER_PORT: String(port),
      CONVERTER_HOST: "127.0.0.1",
      ...env,
      CONVERTER_SECRET: secret,
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`converter exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("converter did not become healthy in 90 s");
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    port,
    url,
    pid: child.pid!,
    secret,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
