// The sweep of what a converter killed with -9 leaves behind.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { sofficePipes, sweepStaleRoots } from "../src/engine/leftovers.ts";

const tempDir = mkdtempSync(join(tmpdir(), "docconv-sweep-"));
afterAll(() => rmSync(tempDir, { recursive: true, force: true }));

function deadPid(): number {
  for (let pid = 4_000_000; ; pid--) {
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ESRCH") return pid;
    }
  }
}

test("roots and pipes of dead converters are removed; live ones are kept", async () => {
  const dead = deadPid();
  const staleRoot = join(tempDir, `docconv-${dead}-abc123`);
  const profile = join(staleRoot, "instance-0-1", "profile");
  mkdirSync(profile, { recursive: true });
  const pipes = sofficePipes(profile, `docconv_${dead}_1_1`);
  for (const pipe of pipes) writeFileSync(pipe, "");
  const liveRoot = join(tempDir, `docconv-${process.pid}-live`);
  mkdirSync(liveRoot);

  await sweepStaleRoots(tempDir);

  expect(existsSync(staleRoot)).toBe(false);
  for (const pipe of pipes) expect(existsSync(pipe), pipe).toBe(false);
  expect(existsSync(liveRoot)).toBe(true);
});
