// The LibreOffice user profile every instance starts from. A fresh profile costs a start that exits with code
// 81 and must be relaunched; a ready one is copied per instance (it is ~250 KB) so starts pay nothing.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const REGISTRY = "user/registrymodifications.xcu";

// Settings that keep a headless converter fast and inert: no autosave or recovery files, no lock files, no
// macros, no OpenCL probing at start.
const SETTINGS: [path: string, name: string, type: string, value: string][] = [
  ["/org.openoffice.Office.Recovery/AutoSave", "Enabled", "xs:boolean", "false"],
  ["/org.openoffice.Office.Recovery/RecoveryInfo", "Enabled", "xs:boolean", "false"],
  ["/org.openoffice.Office.Common/Security/Scripting", "MacroSecurityLevel", "xs:int", "3"],
  ["/org.openoffice.Office.Common/Security/Scripting", "DisableMacrosExecution", "xs:boolean", "true"],
  // Documents are untrusted: never fetch their linked images or other external references (SSRF).
  ["/org.openoffice.Office.Common/Security/Scripting", "BlockUntrustedRefererLinks", "xs:boolean", "true"],
  // Defence in depth against linked content (the sandbox is the wall: LibreOffice 7.4 has no switch that stops
  // an RTF INCLUDEPICTURE field from embedding a local file). Never update links on load: Writer's linked
  // sections, graphics and OLE/DDE links (0 always, 1 on request, 2 never), Calc's external references and
  // DDE (0 always, 1 never, 2 on request); never recalculate on load, so CELL()/INFO() keep the values the
  // file carries (0 always, 1 never, 2 prompt).
  ["/org.openoffice.Office.Writer/Content/Update", "Link", "xs:int", "2"],
  ["/org.openoffice.Office.Calc/Content/Update", "Link", "xs:int", "1"],
  ["/org.openoffice.Office.Calc/Formula/Load", "OOXMLRecalcMode", "xs:int", "1"],
  ["/org.openoffice.Office.Calc/Formula/Load", "ODFRecalcMode", "xs:int", "1"],
  // A .ppt written with the preview carries a 440-590 KB picture of the first slide in \005SummaryInformation.
  ["/org.openoffice.Office.Common/Filter/Microsoft/Export", "EnablePowerPointPreview", "xs:boolean", "false"],
  ["/org.openoffice.Office.Common/Misc", "UseOpenCL", "xs:boolean", "false"],
  ["/org.openoffice.Office.Common/Misc", "FirstRun", "xs:boolean", "false"],
  ["/org.openoffice.Office.Common/Misc", "ShowTipOfTheDay", "xs:boolean", "false"],
  ["/org.openoffice.Office.Common/Misc", "UseDocumentOOoLockFile", "xs:boolean", "false"],
  ["/org.openoffice.Office.Common/Misc", "UseDocumentSystemFileLocking", "xs:boolean", "false"],
];

export function isProfile(dir: string): boolean {
  return existsSync(join(dir, REGISTRY));
}

/** Creates a profile template in `dir` unless one is already there. */
export async function ensureProfileTemplate(dir: string, soffice: string): Promise<void> {
  if (isProfile(dir)) return;
  const tmp = await mkdtemp(join(tmpdir(), "docconv-profile-"));
  try {
    await run(
      soffice,
      [
        "--headless",
        "--invisible",
        "--norestore",
        "--nologo",
        "--nodefault",
        "--nolockcheck",
        "--terminate_after_init",
        `-env:UserInstallation=${pathToFileURL(dir).href}`,
      ],
      { PATH: "/usr/bin:/bin", HOME: tmp, TMPDIR: tmp, LANG: "C.UTF-8" },
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  if (!isProfile(dir)) throw new Error(`LibreOffice did not create a profile in ${dir}`);
  const registry = join(dir, REGISTRY);
  const xml = await readFile(registry, "utf8");
  const items = SETTINGS.map(
    ([path, name, type, value]) =>
      `<item oor:path="${path}"><prop oor:name="${name}" oor:op="fuse" oor:type="${type}"><value>${value}</value></prop></item>`,
  ).join("\n");
  await writeFile(registry, xml.replace("</oor:items>", `${items}\n</oor:items>`));
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], env });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      // 81 means "profile created, restart me": the profile is what we wanted.
      if (code === 0 || code === 81) resolve();
      else reject(new Error(`${command} exited with ${code}: ${stderr.trim()}`));
    });
  });
}
