// Files LibreOffice and the converter leave outside their own directories, and the sweep that removes them
// after a converter was killed without cleaning up (kill -9, OOM).

import { createHash } from "node:crypto";
import { readdir, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

// LibreOffice hard-codes its pipe directory (sal/osl/unx/pipe.cxx) and removes the sockets only on a clean exit.
const PIPE_DIR = "/tmp";

/**
 * The Unix sockets a soffice started with this profile and UNO pipe name creates: the UNO pipe, and the
 * single-instance pipe named after the MD5 of the profile URL in UTF-16 (desktop/source/app/officeipcthread.cxx,
 * bytes in hex without zero padding).
 */
export function sofficePipes(profileDir: string, pipeName: string | undefined): string[] {
  const uid = process.getuid?.() ?? 0;
  const md5 = createHash("md5").update(Buffer.from(pathToFileURL(profileDir).href, "utf16le")).digest();
  const hash = [...md5].map((byte) => byte.toString(16)).join("");
  const pipes = [join(PIPE_DIR, `OSL_PIPE_${uid}_SingleOfficeIPC_${hash}`)];
  if (pipeName) pipes.push(join(PIPE_DIR, `OSL_PIPE_${uid}_${pipeName}`));
  return pipes;
}

export async function removeFiles(paths: string[]): Promise<void> {
  await Promise.all(paths.map((path) => unlink(path).catch(() => {})));
}

/** Removes temp roots (docconv-<pid>-*) and UNO pipes (docconv_<pid>_*) of converter processes that are gone. */
export async function sweepStaleRoots(tempDir: string): Promise<void> {
  const uid = process.getuid?.() ?? 0;
  for (const entry of await readdir(tempDir).catch(() => [] as string[])) {
    const pid = Number(/^docconv-(\d+)-/.exec(entry)?.[1]);
    if (!pid || isRunning(pid)) continue;
    const root = join(tempDir, entry);
    for (const instance of await readdir(root).catch(() => [] as string[])) {
      if (instance.startsWith("instance-")) await removeFiles(sofficePipes(join(root, instance, "profile"), undefined));
    }
    await rm(root, { recursive: true, force: true }).catch(() => {});
  }
  for (const entry of await readdir(PIPE_DIR).catch(() => [] as string[])) {
    const pid = Number(new RegExp(`^OSL_PIPE_${uid}_docconv_(\\d+)_`).exec(entry)?.[1]);
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
