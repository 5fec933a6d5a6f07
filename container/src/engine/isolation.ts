// Every process that reads a document (LibreOffice with its bridge, pdfinfo, pdftoppm) runs in a cell: a
// private directory it may write, under the layers this machine allows, probed once at start:
//   uid    a distinct unprivileged uid and gid per cell owner (instance slot, render slot), 0700 directories and a
//          clean environment; another uid cannot read the cell or the server's /proc/<pid>/environ. Needs root.
//   bwrap  a bubblewrap sandbox: its own mount namespace where only the cell is writable (bound at /docconv),
//          system paths read-only and only those LibreOffice, Python, fonts and poppler need, a private /tmp,
//          /proc of its own pid namespace, no network, no further user namespaces, killed with its parent.
// The level obtained ("bwrap+uid", "uid", "bwrap" or "none") is logged and reported by GET /health.

import { type SpawnOptions, spawnSync } from "node:child_process";
import { constants, existsSync, lstatSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { chmod, chown, copyFile, link, lstat, mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { IsolationSetting } from "../config.ts";
import { ConvertError } from "../errors.ts";

export type IsolationLevel = "bwrap+uid" | "uid" | "bwrap" | "none";

/** Where a cell's directory appears inside a bwrap sandbox. */
export const CELL_ROOT = "/docconv";

/** Resource limits applied with setrlimit (prlimit) to a sandboxed tool. */
export interface ToolLimits {
  addressSpaceBytes: number;
  cpuSeconds: number;
  fileSizeBytes: number;
}

/** Read-only system paths a sandbox sees; only what LibreOffice, python3-uno, fontconfig and poppler read. */
const SYSTEM_RO_PATHS = [
  "/etc/fonts",
  "/etc/libreoffice",
  "/etc/ld.so.cache",
  "/etc/localtime",
  "/var/cache/fontconfig",
];
/** Top-level paths that merged-/usr systems make symlinks into /usr. */
const USR_LINKS = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

export class Isolation {
  readonly level: IsolationLevel;
  /** Why a layer is missing (for the log and README's "what holds where"). */
  readonly notes: string[];
  private readonly bwrap: string | undefined;
  private readonly bwrapBase: string[];
  private readonly passwdDir: string | undefined;

  constructor(level: IsolationLevel, notes: string[], bwrap?: string, bwrapBase: string[] = [], passwdDir?: string) {
    this.level = level;
    this.notes = notes;
    this.bwrap = bwrap;
    this.bwrapBase = bwrapBase;
    this.passwdDir = passwdDir;
  }

  /** No layer at all: children still get a clean environment. For tests that run engine parts directly. */
  static none(note = "not requested"): Isolation {
    return new Isolation("none", [note]);
  }

  get uids(): boolean {
    return this.level === "bwrap+uid" || this.level === "uid";
  }

  get namespaces(): boolean {
    return this.bwrap !== undefined;
  }

  /** A cell owned by `uid` (ignored without the uid layer). */
  cell(dir: string, uid: number | undefined): Cell {
    return new Cell(dir, this.uids ? uid : undefined, this.namespaces);
  }

  /**
   * How to spawn `program` in `cell`: inside bwrap when the namespace layer is on, as the cell's uid when the uid
   * layer is, with exactly `env` as its environment, optionally under `limits` (prlimit).
   */
  command(
    cell: Cell,
    program: string,
    args: string[],
    options: { env: Record<string, string>; readOnly?: [host: string, inner: string][]; limits?: ToolLimits },
  ): { file: string; args: string[]; options: SpawnOptions } {
    let file = program;
    let argv = args;
    if (this.bwrap) {
      const setenv = Object.entries(options.env).flatMap(([k, v]) => ["--setenv", k, v]);
      const readOnly = (options.readOnly ?? []).flatMap(([host, inner]) => ["--ro-bind", host, inner]);
      file = this.bwrap;
      argv = [
        ...this.bwrapBase,
        ...this.passwdBinds(),
        "--bind",
        cell.dir,
        CELL_ROOT,
        ...readOnly,
        "--clearenv",
        ...setenv,
        "--chdir",
        CELL_ROOT,
        "--",
        program,
        ...args,
      ];
    }
    if (options.limits) {
      const { addressSpaceBytes, cpuSeconds, fileSizeBytes } = options.limits;
      argv = [
        `--as=${addressSpaceBytes}`,
        `--cpu=${cpuSeconds}:${cpuSeconds + 1}`,
        `--fsize=${fileSizeBytes}`,
        "--core=0",
        "--",
        file,
        ...argv,
      ];
      file = "/usr/bin/prlimit";
    }
    const spawnOptions: SpawnOptions = {
      // bwrap itself and a program without bwrap get the clean environment too: nothing of the server's.
      env: options.env,
      cwd: this.bwrap ? "/" : cell.dir,
    };
    if (cell.uid !== undefined) {
      spawnOptions.uid = cell.uid;
      spawnOptions.gid = cell.uid;
    }
    return { file, args: argv, options: spawnOptions };
  }

  private passwdBinds(): string[] {
    if (!this.passwdDir) return [];
    return [
      "--ro-bind",
      join(this.passwdDir, "passwd"),
      "/etc/passwd",
      "--ro-bind",
      join(this.passwdDir, "group"),
      "/etc/group",
    ];
  }

  /**
   * Makes the server's temp root usable by cells: traversable (not listable) by their uids, with the passwd and
   * group files their sandboxes see (LibreOffice names its pipes after the user; without an entry it makes them
   * world-connectable).
   */
  async prepareRoot(root: string, uids: number[]): Promise<void> {
    if (this.uids) {
      await chmod(root, 0o711);
      for (let dir = dirname(root); ; dir = dirname(dir)) {
        const mode = statSync(dir).mode;
        if ((mode & 0o001) === 0) {
          throw new Error(
            `${dir} is not traversable by other users (mode ${(mode & 0o777).toString(8)}): the sandbox uids cannot reach ${root}; ` +
              "choose a CONVERTER_TEMP_DIR below directories with o+x",
          );
        }
        if (dir === dirname(dir)) break;
      }
    }
    if (this.passwdDir !== undefined) {
      const owners = this.uids ? uids : [process.getuid?.() ?? 0];
      const users = owners.map(
        (uid, i) => `docconv${i}:x:${uid}:${uid}:docconv sandbox:${CELL_ROOT}:/usr/sbin/nologin`,
      );
      await writeFile(
        join(this.passwdDir, "passwd"),
        `${["root:x:0:0:root:/root:/usr/sbin/nologin", ...users].join("\n")}\n`,
        { mode: 0o644 },
      );
      const groups = owners.map((uid, i) => `docconv${i}:x:${uid}:`);
      await writeFile(join(this.passwdDir, "group"), `${["root:x:0:", ...groups].join("\n")}\n`, { mode: 0o644 });
    }
  }

  describe(): Record<string, unknown> {
    return { isolation: this.level, bwrap: this.bwrap ?? null, notes: this.notes };
  }
}

/**
 * A directory for one sandboxed process tree, and the moves in and out of it. The cell itself belongs to the
 * server (0711: traversable, not listable, not writable by the cell's uid); what the processes may write are its
 * private subdirectories (0700, the cell's uid). So every path the server uses inside the cell runs through
 * directories only the server can change, but for the last component: a process cannot swap a directory for a
 * symlink under the server's feet (it can rename only entries of its own directories).
 */
export class Cell {
  readonly dir: string;
  readonly uid: number | undefined;
  private readonly bound: boolean;

  constructor(dir: string, uid: number | undefined, bound: boolean) {
    this.dir = dir;
    this.uid = uid;
    this.bound = bound;
  }

  /** Creates the cell: the server's, 0711 with the uid layer (its processes traverse it), else 0700. */
  async create(): Promise<void> {
    await mkdir(this.dir, { mode: this.uid === undefined ? 0o700 : 0o711 }); // fails if it exists: never adopt what someone else made
    await chmod(this.dir, this.uid === undefined ? 0o700 : 0o711); // whatever the umask
  }

  /** A directory of the server's inside the cell (0711): the processes use what it holds, cannot change it. */
  async serverDir(sub: string): Promise<string> {
    const path = join(this.dir, sub);
    await mkdir(path, { mode: 0o711 });
    await chmod(path, 0o711);
    return path;
  }

  /** The path a sandboxed process uses for `hostPath` (inside the cell). */
  inner(hostPath: string): string {
    const rel = this.relative(hostPath);
    if (rel === undefined) throw new Error(`${hostPath} is outside the cell ${this.dir}`);
    return this.bound ? (rel ? `${CELL_ROOT}/${rel}` : CELL_ROOT) : hostPath;
  }

  /** The host path of a path a sandboxed process reported, or undefined when it points outside the cell. */
  outer(innerPath: string): string | undefined {
    const host = this.bound
      ? innerPath === CELL_ROOT
        ? this.dir
        : innerPath.startsWith(`${CELL_ROOT}/`)
          ? join(this.dir, innerPath.slice(CELL_ROOT.length + 1))
          : undefined
      : innerPath;
    return host !== undefined && this.relative(host) !== undefined ? host : undefined;
  }

  /** A directory the cell's processes may write: 0700, owned by the cell's uid. `sub`'s parent is the server's. */
  async privateDir(sub: string): Promise<string> {
    const path = join(this.dir, sub);
    await mkdir(path, { mode: 0o700 });
    await this.own(path);
    return path;
  }

  /**
   * Puts `source` (the server's own file) into a server directory of the cell as `sub`, readable by the cell's
   * uid only. A hard link, so nothing is copied; the server keeps no use for the file's contents afterwards but
   * to hand it to another cell (a crash retry).
   */
  async place(source: string, sub: string): Promise<string> {
    const target = join(this.dir, sub);
    try {
      await link(source, target);
    } catch {
      await copyFile(source, target, constants.COPYFILE_EXCL);
    }
    await chmod(target, 0o600);
    await this.own(target);
    return target;
  }

  /**
   * Takes a file the sandboxed process wrote (the last component of `path`, in one of its private directories)
   * out of the cell into the server's `dest` (a directory of its own, out of the cell's reach). rename() moves
   * the entry itself; then only a plain file with one link is accepted: never a symlink or a hard link the
   * process planted to make the server read something else.
   */
  async claim(path: string, dest: string): Promise<number> {
    if (this.relative(path) === undefined) throw untrusted(`${path} is outside the cell`);
    await rename(path, dest);
    const stats = await lstat(dest);
    if (!stats.isFile() || stats.nlink !== 1) {
      await unlink(dest).catch(() => {});
      throw untrusted(`${path} is not a plain file`);
    }
    return stats.size;
  }

  private async own(path: string): Promise<void> {
    if (this.uid !== undefined) await chown(path, this.uid, this.uid);
  }

  private relative(hostPath: string): string | undefined {
    const rel = relative(this.dir, hostPath);
    if (rel.startsWith("..") || rel.includes(`..${sep}`) || rel.startsWith(sep)) return undefined;
    return rel.split(sep).join("/");
  }
}

function untrusted(detail: string): ConvertError {
  return new ConvertError("convert.engine_failure", `an engine output was refused: ${detail}`, { retryable: true });
}

export interface ProbeOptions {
  setting: IsolationSetting;
  /** The uids the cells will use (checked, and written into the sandboxes' passwd). */
  uids: number[];
  /** Where the sandboxes' passwd and group files go (the server's temp root). */
  root: string;
  bwrap?: string;
}

/**
 * What this machine allows: the uid layer when running as root, the bwrap layer when bubblewrap can create its
 * namespaces as the cells' uid. `auto` takes the best; an explicit level is required (start fails without it).
 */
export function probeIsolation({ setting, uids, root, bwrap = "/usr/bin/bwrap" }: ProbeOptions): Isolation {
  const notes: string[] = [];
  const isRoot = process.getuid?.() === 0;
  const wantUids = setting === "auto" || setting === "bwrap+uid" || setting === "uid";
  const wantBwrap = setting === "auto" || setting === "bwrap+uid" || setting === "bwrap";
  const useUids = wantUids && isRoot;
  if (wantUids && !isRoot)
    notes.push("uid layer unavailable: the converter does not run as root, so it cannot switch uids");

  let bwrapBase: string[] | undefined;
  if (wantBwrap) {
    if (!existsSync(bwrap)) notes.push(`bwrap layer unavailable: ${bwrap} not found (Debian package bubblewrap)`);
    else {
      const probeUid = useUids ? uids[0] : undefined;
      const attempt = (base: string[]) => {
        const run = spawnSync(bwrap, [...base, "--", "/usr/bin/true"], {
          env: {},
          timeout: 10_000,
          ...(probeUid !== undefined ? { uid: probeUid, gid: probeUid } : {}),
        });
        return run.status === 0
          ? undefined
          : run.stderr?.toString().trim() || run.error?.message || `exit ${run.status}`;
      };
      const full = bwrapArguments(true);
      const failure = attempt(full);
      if (failure === undefined) bwrapBase = full;
      else {
        // Older kernels refuse --disable-userns; the sandbox still holds without it.
        const plain = bwrapArguments(false);
        const again = attempt(plain);
        if (again === undefined) {
          bwrapBase = plain;
          notes.push(`bwrap --disable-userns refused (${failure}): sandboxes may create user namespaces of their own`);
        } else notes.push(`bwrap layer unavailable: bwrap cannot create its namespaces here (${again})`);
      }
    }
  }

  const level: IsolationLevel = bwrapBase ? (useUids ? "bwrap+uid" : "bwrap") : useUids ? "uid" : "none";
  if (setting !== "auto" && setting !== level) {
    throw new Error(`CONVERTER_ISOLATION=${setting} is not available here (got ${level}): ${notes.join("; ")}`);
  }
  if (level === "uid") {
    const known = new Set(
      readFileSync("/etc/passwd", "utf8")
        .split("\n")
        .map((line) => Number(line.split(":")[2])),
    );
    const missing = uids.filter((uid) => !known.has(uid));
    if (missing.length) {
      notes.push(
        `uids ${missing.join(", ")} have no /etc/passwd entry: LibreOffice then creates its UNO pipes in /tmp connectable by any user ` +
          "(the image creates docconv0… entries; see container/Dockerfile)",
      );
    }
  }
  if (level === "none" && setting === "none") notes.push("isolation switched off (CONVERTER_ISOLATION=none)");
  return new Isolation(level, notes, bwrapBase ? bwrap : undefined, bwrapBase ?? [], bwrapBase ? root : undefined);
}

/** The sandbox every cell shares: system paths read-only, fresh /proc, /dev and /tmp, no namespaces shared. */
function bwrapArguments(disableUserns: boolean): string[] {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const path of USR_LINKS) {
    if (!existsSync(path)) continue;
    if (lstatSync(path).isSymbolicLink()) args.push("--symlink", readlinkSync(path), path);
    else args.push("--ro-bind", path, path);
  }
  for (const path of SYSTEM_RO_PATHS) args.push("--ro-bind-try", path, path);
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  args.push("--unshare-all", "--unshare-user");
  if (disableUserns) args.push("--disable-userns");
  args.push("--die-with-parent", "--new-session");
  return args;
}
