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
import { BRIDGE_SCRIPT, diedOfMemory, EngineCrash, Instance } from "../src/engine/instance.ts";

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

describe("a death near the memory limits", () => {
  const MiB = 1024 * 1024;
  const limits = { addressSpaceBytes: 2000 * MiB, memoryBytes: 450 * MiB };
  const at = (ms: number, rssMiB: number, vmMiB: number) => ({ at: ms, rssBytes: rssMiB * MiB, vmBytes: vmMiB * MiB });

  test("is the cap when the last look already saw soffice near a limit", () => {
    expect(diedOfMemory([at(0, 410, 1200)], 100, limits)).not.toBeNull();
    expect(diedOfMemory([at(0, 200, 1650)], 100, limits)).not.toBeNull();
  });

  test("is the cap when soffice was growing fast enough to reach a limit by the time it died (a late watchdog)", () => {
    // 300 MiB/s of address space: from 1300 MiB at the last look, 1600 (80 % of 2000) after one more second.
    const growing = [at(0, 250, 1225), at(250, 300, 1300)];
    expect(diedOfMemory(growing, 400, limits)).toBeNull();
    expect(diedOfMemory(growing, 1300, limits)).toEqual({ rssBytes: 300 * MiB, vmBytes: 1300 * MiB });
  });

  test("is a crash when soffice was far from its limits and not growing toward them", () => {
    expect(diedOfMemory([at(0, 250, 1200), at(250, 250, 1200)], 5000, limits)).toBeNull();
    expect(diedOfMemory([at(0, 260, 1210), at(250, 250, 1200)], 5000, limits)).toBeNull();
    expect(diedOfMemory([], 100, limits)).toBeNull();
  });
});
