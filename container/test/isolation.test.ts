// The attack suite: documents that link or include content (an RTF INCLUDEPICTURE field, linked images in ODT
// and DOCX, a linked section, a linked OLE object, a spreadsheet's external reference, HTML's img, stylesheet,
// object and iframe, SVG's image and use) aimed by absolute path,
// file:// URL and relative path at canaries planted where an instance must not read — another instance's cell
// (0700, another sandbox uid) and the server's own directory (0700, root) — and at the server's environment.
// The output must not carry them, and the answer must be the same whether the path exists or not.
//
// Run once per isolation level this machine offers, each on a server of its own (one instance), so the test
// names say which layer was exercised; without isolation the same RTF does leak, which proves the attack and
// the leak detector real.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { probeIsolation } from "../src/engine/isolation.ts";
import { aimedAt, type Canaries, leaks, plantCanaries } from "./attacks.ts";
import { convert } from "./helpers.ts";
import { processesMentioning, sofficePids, startTestServer, TEST_SECRET, type TestServer } from "./server-process.ts";

const scratch = mkdtempSync(join(tmpdir(), "docconv-isolation-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;
/** The best level here, plus uid alone when both layers exist (production may get only that), plus none. */
const best = probeIsolation({ setting: "auto", uids: [], root: scratch }).level;
const levels = [...new Set([best, ...(best === "bwrap+uid" ? ["uid" as const] : []), "none" as const])];

test(`this machine exercises isolation levels: ${levels.join(", ")}`, () => {
  // Which layers the suite below really tests (the uid layer needs root; bwrap needs user namespaces).
  expect(levels).toContain(best);
  if (isRoot) expect(levels.some((l) => l.includes("uid"))).toBe(true);
});

type Form = "absolute" | "file URL" | "relative";
const aim = (path: string, form: Form) =>
  form === "file URL" ? `file://${path}` : form === "relative" ? `${"../".repeat(12)}${path.slice(1)}` : path;

interface Attack {
  doc: string;
  canary: "png" | "svg" | "text" | "ods" | "odt";
  forms: Form[];
  targets: string[];
}

const ATTACKS: Attack[] = [
  {
    doc: "hostile-includepicture.rtf",
    canary: "png",
    forms: ["absolute", "file URL", "relative"],
    targets: ["docx", "pdf"],
  },
  { doc: "hostile-includepicture.rtf", canary: "svg", forms: ["absolute"], targets: ["pdf"] },
  { doc: "hostile-linked-image.odt", canary: "png", forms: ["file URL", "absolute"], targets: ["docx", "pdf"] },
  { doc: "hostile-linked-image.docx", canary: "png", forms: ["file URL"], targets: ["odt", "pdf"] },
  { doc: "hostile-linked-section.odt", canary: "text", forms: ["file URL"], targets: ["pdf", "docx"] },
  { doc: "hostile-linked-object.odt", canary: "odt", forms: ["file URL", "relative"], targets: ["pdf"] },
  { doc: "hostile-external-ref.ods", canary: "ods", forms: ["file URL"], targets: ["csv", "pdf"] },
  // Issue 14 item 7: HTML (img, stylesheet, CSS url(), object, iframe) and SVG (image, use) references.
  {
    doc: "hostile-html-references.html",
    canary: "png",
    forms: ["file URL", "absolute", "relative"],
    targets: ["pdf", "docx"],
  },
  { doc: "hostile-html-references.html", canary: "svg", forms: ["file URL"], targets: ["pdf"] },
  { doc: "hostile-svg-image.svg", canary: "png", forms: ["file URL", "absolute"], targets: ["pdf", "odg"] },
  { doc: "hostile-svg-use.svg", canary: "svg", forms: ["file URL", "absolute"], targets: ["pdf", "odg"] },
];

const from = (doc: string) => doc.slice(doc.lastIndexOf(".") + 1);

for (const level of levels) {
  describe(`isolation ${level}`, () => {
    let server: TestServer;
    let root: string;
    let otherInstance: Canaries;
    let serverOwn: Canaries;
    const uidBase = 30_000 + (process.pid % 500) * 8;

    beforeAll(async () => {
      server = await startTestServer({
        CONVERTER_INSTANCES: "1",
        CONVERTER_ISOLATION: level,
        CONVERTER_SANDBOX_UID_BASE: String(uidBase),
      });
      root = join(server.tempDir, readdirSync(server.tempDir).find((d) => d.startsWith("docconv-"))!);
      // Another cell, as another instance's looks (0700, another sandbox uid: the render slot's here), and a
      // directory of the server's own (0700, root) beside the requests.
      otherInstance = plantCanaries(join(root, "instance-7-other"), level.includes("uid") ? uidBase + 1 : undefined);
      serverOwn = plantCanaries(join(root, "requests", "canary"));
    });
    afterAll(async () => {
      const left = await server.stop();
      expect(left).toEqual({ processes: [], files: [], exitCode: 0 });
    });

    test("GET /health and the start-up log say which isolation was obtained", async () => {
      expect((await (await fetch(`${server.url}/health`)).json()).isolation).toBe(level);
      const line = server.log.map((l) => JSON.parse(l)).find((l) => l.message === "isolation");
      expect(line).toMatchObject({ isolation: level });
    });

    if (level === "none") {
      test("without isolation the RTF does embed a root-only file: the attack and the detector are real", async () => {
        const res = await convert(
          aimedAt("hostile-includepicture.rtf", serverOwn.png.path),
          { to: "docx", from: "rtf" },
          server.url,
        );
        expect(res.status).toBe(200);
        expect(leaks(res.body, serverOwn, scratch)).not.toEqual([]);
      });
      test("without isolation an SVG <image> does embed a root-only picture: the sandbox is what stops it", async () => {
        const res = await convert(
          aimedAt("hostile-svg-image.svg", `file://${serverOwn.png.path}`),
          { to: "pdf", from: "svg" },
          server.url,
        );
        expect(res.status).toBe(200);
        expect(leaks(res.body, serverOwn, scratch)).not.toEqual([]);
      });
      test("without isolation HTML's references stay unread all the same (Writer's HTML import loads no linked picture)", async () => {
        const res = await convert(
          aimedAt("hostile-html-references.html", `file://${serverOwn.png.path}`),
          { to: "pdf", from: "html" },
          server.url,
        );
        expect(res.status).toBe(200);
        expect(leaks(res.body, serverOwn, scratch)).toEqual([]);
      });
      test("without isolation whether a path exists shows in the answer (the oracle the sandbox closes)", async () => {
        const existing = await convert(
          aimedAt("hostile-includepicture.rtf", serverOwn.text.path),
          { to: "pdf", from: "rtf" },
          server.url,
        );
        const missing = await convert(
          aimedAt("hostile-includepicture.rtf", serverOwn.missing),
          { to: "pdf", from: "rtf" },
          server.url,
        );
        expect([existing.status, missing.status]).toEqual([422, 200]);
      });
      return;
    }

    for (const attack of ATTACKS) {
      for (const form of attack.forms) {
        for (const where of ["another instance's cell", "the server's directory"] as const) {
          if (where === "the server's directory" && form !== attack.forms[0]) continue; // one form suffices there
          test(`${attack.doc} → ${attack.targets.join(", ")}: ${form} path to ${attack.canary} in ${where} reads nothing`, async () => {
            const canaries = where === "the server's directory" ? serverOwn : otherInstance;
            const target = (canaries[attack.canary] as { path: string }).path;
            for (const to of attack.targets) {
              const res = await convert(
                aimedAt(attack.doc, aim(target, form)),
                { to, from: from(attack.doc) },
                server.url,
              );
              expect([200, 422], `${to}: ${res.status} ${JSON.stringify(res.json)}`).toContain(res.status);
              expect(leaks(res.body, canaries, scratch), to).toEqual([]);
              // The same document aimed at a path that does not exist gets the same answer: no existence oracle.
              const missing = await convert(
                aimedAt(attack.doc, aim(canaries.missing.replace(".png", `.${attack.canary}`), form)),
                { to, from: from(attack.doc) },
                server.url,
              );
              expect({ status: missing.status, error: missing.json?.error }, to).toEqual({
                status: res.status,
                error: res.json?.error,
              });
            }
          });
        }
      }
    }

    test("the server's environment is out of reach: /proc/<server>/environ and the instance's own carry no secret", async () => {
      for (const path of [`/proc/${server.pid}/environ`, "/proc/self/environ", "/proc/1/environ"]) {
        const res = await convert(aimedAt("hostile-includepicture.rtf", path), { to: "docx", from: "rtf" }, server.url);
        expect(res.body.includes(TEST_SECRET), path).toBe(false);
      }
      const missing = await convert(
        aimedAt("hostile-includepicture.rtf", `/proc/${server.pid}/no-such-file`),
        { to: "docx", from: "rtf" },
        server.url,
      );
      const environ = await convert(
        aimedAt("hostile-includepicture.rtf", `/proc/${server.pid}/environ`),
        { to: "docx", from: "rtf" },
        server.url,
      );
      expect(environ.status).toBe(missing.status);
    });

    test("soffice runs with a clean environment as a sandbox uid; its writable directories are 0700; other uids cannot read the server's environ", async () => {
      const [pid] = sofficePids(server);
      expect(pid).toBeDefined();
      const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
      expect(environ.join("\n")).not.toContain(TEST_SECRET);
      const allowed = [
        "HOME",
        "LANG",
        "PATH",
        "PWD",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "SAL_ENABLE_FILE_LOCKING",
        "TEMP",
        "TMP",
        "TMPDIR",
      ];
      expect(environ.map((kv) => kv.split("=")[0]!).filter((key) => !allowed.includes(key))).toEqual([]);
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
      if (!level.includes("uid")) {
        expect(uid).toBe(process.getuid!());
        return;
      }
      expect(uid).toBe(uidBase);
      const cell = join(root, readdirSync(root).find((d) => d.startsWith("instance-0-"))!);
      const mode = (path: string) => ({ mode: (statSync(path).mode & 0o777).toString(8), uid: statSync(path).uid });
      // The cell is the server's (traversable, not listable or writable); what soffice writes is its own, 0700.
      expect(mode(cell)).toEqual({ mode: "711", uid: 0 });
      expect(mode(join(cell, "profile"))).toEqual({ mode: "700", uid: uidBase });
      expect(mode(join(cell, "tmp"))).toEqual({ mode: "700", uid: uidBase });
      // As that uid: the server's environ, the requests and another cell are all closed.
      for (const path of [`/proc/${server.pid}/environ`, join(root, "requests"), otherInstance.dir]) {
        const probe = spawnSync("/usr/bin/cat", [path], { uid, gid: uid, env: {} });
        expect(probe.status, path).not.toBe(0);
        expect(probe.stderr.toString(), path).toMatch(/Permission denied|Is a directory/);
        if (path !== `/proc/${server.pid}/environ`)
          expect(spawnSync("/usr/bin/ls", [path], { uid, gid: uid, env: {} }).status, path).not.toBe(0);
      }
    });

    if (level.includes("bwrap")) {
      test("soffice lives in namespaces of its own: no network, its cell at /docconv, nothing of the host's temp dirs", async () => {
        const [pid] = sofficePids(server);
        for (const ns of ["net", "mnt", "pid", "ipc", "uts"]) {
          expect(readlinkSync(`/proc/${pid}/ns/${ns}`), ns).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
        }
        // Only a loopback interface in its network namespace.
        const interfaces = readFileSync(`/proc/${pid}/net/dev`, "utf8")
          .split("\n")
          .slice(2)
          .map((l) => l.split(":")[0]!.trim())
          .filter(Boolean);
        expect(interfaces).toEqual(["lo"]);
        expect(existsSync(`/proc/${pid}/root/docconv/profile`)).toBe(true);
        expect(existsSync(`/proc/${pid}/root${server.tempDir}`)).toBe(false);
        expect(readdirSync(`/proc/${pid}/root/tmp`).every((f) => !f.startsWith("docconv"))).toBe(true);
        expect(readFileSync(`/proc/${pid}/root/etc/passwd`, "utf8")).not.toContain(":/root:/bin/bash");
      });
    }

    if (level === "uid" && isRoot) {
      test("without passwd entries for its uids the converter says its UNO pipes are exposed (the image creates them)", () => {
        const line = server.log.map((l) => JSON.parse(l)).find((l) => l.message === "isolation");
        const known = readFileSync("/etc/passwd", "utf8").includes(`:${uidBase}:`);
        if (!known) expect(line.notes.join(" ")).toContain("no /etc/passwd entry");
      });
    }
  });
}

describe("the shared test server (two instances)", () => {
  test("each instance runs as its own uid, never the server's", () => {
    const pids = processesMentioning(`docconv_${inject("converterPid")}_`)
      .filter((line) => line.includes("soffice.bin --headless"))
      .map((line) => Number(line.split(":")[0]));
    expect(pids).toHaveLength(2);
    const uids = pids.map((pid) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]));
    if (!isRoot) return expect(new Set(uids).size).toBe(1); // no uid layer without root
    expect(new Set(uids).size).toBe(2);
    expect(uids).not.toContain(0);
  });
});
