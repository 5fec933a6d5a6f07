// A LibreOffice that dies mid-load is a crash (retried, then convert.engine_crash_on_input), never the
// document's convert.corrupt_input — decided in bridge.py and again in instance.ts. No LibreOffice here: the
// bridge's classification runs against fake desktops, the instance against a fake bridge.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { loadConfig } from "../src/config.ts";
import { BRIDGE_SCRIPT, EngineCrash, Instance } from "../src/engine/instance.ts";

const harness = fileURLToPath(new URL("./bridge-harness.py", import.meta.url));
const fakeBridge = fileURLToPath(new URL("./fake-bridge.py", import.meta.url));

describe("bridge.py", () => {
  const run = spawnSync(loadConfig().python, [harness, BRIDGE_SCRIPT], { encoding: "utf8", timeout: 30_000 });
  const results = () => {
    expect(run.status, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { isFatal: Record<string, boolean>; load: Record<string, string> };
  };

  test("a broken UNO connection is fatal, whatever pyuno calls the exception class", () => {
    // pyuno names its classes in full ("com.sun.star.lang.DisposedException"), which a bare name never matches.
    expect(results().isFatal).toEqual({
      DisposedException: true,
      "RuntimeException (URP)": true,
      "RuntimeException (other)": false,
      IOException: false,
      IllegalArgumentException: false,
    });
  });

  test("a load that fails while soffice is dead or disconnected is a crash, not corrupt_input", () => {
    expect(results().load).toEqual({
      "disposed mid-load": "fatal",
      "IOException, soffice exited": "fatal",
      "IOException, connection gone": "fatal",
      "no document, soffice exited": "fatal",
      "IOException, soffice alive": "corrupt_input",
      "no document, soffice alive": "corrupt_input",
    });
  });
});

describe("instance.ts", () => {
  const dir = mkdtempSync(join(tmpdir(), "docconv-fake-bridge-"));
  const profileTemplate = join(dir, "profile");
  mkdirSync(profileTemplate);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function withInstance(input: string) {
    const instance = new Instance({
      id: 1,
      dir: join(dir, `instance-${input}`),
      profileTemplate,
      python: fakeBridge,
      soffice: "/nonexistent",
      startTimeoutMs: 10_000,
      warm: false,
      log: () => {},
    });
    await instance.start();
    const command = {
      op: "convert",
      input,
      output: "/nonexistent/out.pdf",
      family: "writer",
      filter: "writer_pdf_Export",
    } as const;
    const outcome = await instance.request(command, 10_000).then(
      (reply) => reply,
      (error: Error) => error,
    );
    await instance.stop("test done");
    return outcome;
  }

  test("a failure reply written after soffice died rejects as a crash (and the instance goes)", async () => {
    const outcome = await withInstance("input.crash");
    expect(outcome).toBeInstanceOf(EngineCrash);
  });

  test("the same reply from a live soffice stays the document's error", async () => {
    const outcome = await withInstance("input.docx");
    expect(outcome).toMatchObject({ ok: false, error: "corrupt_input" });
  });
});
