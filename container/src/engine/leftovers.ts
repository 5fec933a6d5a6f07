// Files LibreOffice and the converter leave outside their own directories, and the sweep that removes them
// after a converter was killed without cleaning up (kill -9, OOM). Inside a bwrap sandbox LibreOffice's /tmp is
// private and goes with the sandbox: only instances without the namespace layer leave sockets in the host's /tmp.

import { createHash } from "node:crypto";
import { readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// LibreOffice hard-codes its pipe directory (sal/osl/unx/pipe.cxx) and removes the sockets only on a clean exit.
const PIPE_DIR = "/tmp";

/** The suffix of the single-instance pipe of a soffice with this profile: MD5 of the profile URL in UTF-16. */
export function singleInstancePipeSuffix(profileDir: string): string {
  const md5 = createHash("md5")
    .update(Buffer.from(pathToFileURL(profileDir).href, "utf16le"))
    .digest();
  return `_SingleOfficeIPC_${[...md5].map((byte) => byte.toString(16)).join("")}`;
}

/**
 * The Unix sockets a soffice started with this profile (as soffice sees its path) and UNO pipe name creates,
 * running as `uid`: the UNO pipe, and the single-instance pipe named after the MD5 of the profile URL in UTF-16
 * (desktop/source/app/officeipcthread.cxx, bytes in hex without zero padding). A uid without a passwd entry
 * gets names without the uid (and world-connectable sockets: see isolation.ts).
 */
export function sofficePipes(
  profileDir: string,
  pipeName: string | undefined,
  uid = process.getuid?.() ?? 0,
): string[] {
  const suffix = singleInstancePipeSuffix(profileDir);
  const pipes = [join(PIPE_DIR, `OSL_PIPE_${uid}${suffix}`), join(PIPE_DIR, `OSL_PIPE${suffix}`)];
  if (pipeName) pipes.push(join(PIPE_DIR, `OSL_PIPE_${uid}_${pipeName}`), join(PIPE_DIR, `OSL_PIPE_${pipeName}`));
  return pipes;
}

export async function removeFiles(paths: string[]): Promise<void> {
  await Promise.all(paths.map((path) => unlink(path).catch(() => {})));
}

/**
 * Removes temp roots (docconv-<pid>-*) and UNO pipes (…_docconv_<pid>_*) of converter processes that are gone,
 * whatever uid their instances ran as.
 */
export async function sweepStaleRoots(tempDir: string): Promise<void> {
  const pipes = await readdir(PIPE_DIR).catch(() => [] as string[]);
  for (const entry of await readdir(tempDir).catch(() => [] as string[])) {
    const pid = Number(/^docconv-(\d+)-/.exec(entry)?.[1]);
    if (!pid || isRunning(pid)) continue;
    const root = join(tempDir, entry);
    for (const instance of await readdir(root).catch(() => [] as string[])) {
      if (!instance.startsWith("instance-")) continue;
      const suffix = singleInstancePipeSuffix(join(root, instance, "profile"));
      await removeFiles(
        pipes.filter((p) => p.startsWith("OSL_PIPE_") && p.endsWith(suffix)).map((p) => join(PIPE_DIR, p)),
      );
    }
    await rm(root, { recursive: true, force: true }).catch(() => {});
  }
  for (const entry of pipes) {
    const pid = Number(/^OSL_PIPE_(?:\d+_)?docconv_(\d+)_/.exec(entry)?.[1]);
    if (pid && !isRunning(pid)) await unlink(join(PIPE_DIR, entry)).catch(() => {});
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
