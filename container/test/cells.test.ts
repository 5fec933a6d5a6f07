// Moving files in and out of a cell (engine/isolation.ts) without trusting what the sandboxed process left
// there: only plain files with one link come out; paths outside the cell are refused. No LibreOffice here.
import { existsSync, linkSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { CELL_ROOT, Cell } from "../src/engine/isolation.ts";

const root = mkdtempSync(join(tmpdir(), "docconv-cells-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const secret = join(root, "server-secret.txt");
writeFileSync(secret, "the server's own file\n");
let n = 0;

async function freshCell(bound = false) {
  const cell = new Cell(join(root, `cell-${++n}`), undefined, bound);
  await cell.create();
  const out = await cell.privateDir("out");
  const dest = mkdtempSync(join(root, "dest-"));
  return { cell, out, dest };
}

describe("claiming outputs", () => {
  test("a plain file comes out, moved (not copied)", async () => {
    const { cell, out, dest } = await freshCell();
    writeFileSync(join(out, "result.pdf"), "%PDF-1.7 fine");
    expect(await cell.claim(join(out, "result.pdf"), join(dest, "result.pdf"))).toBe(13);
    expect(readFileSync(join(dest, "result.pdf"), "utf8")).toBe("%PDF-1.7 fine");
    expect(existsSync(join(out, "result.pdf"))).toBe(false);
  });

  test("a symlink planted as an output is refused and never read", async () => {
    const { cell, out, dest } = await freshCell();
    symlinkSync(secret, join(out, "result.pdf"));
    await expect(cell.claim(join(out, "result.pdf"), join(dest, "result.pdf"))).rejects.toMatchObject({
      code: "convert.engine_failure",
    });
    expect(existsSync(join(dest, "result.pdf"))).toBe(false);
    expect(readFileSync(secret, "utf8")).toBe("the server's own file\n");
  });

  test("a hard link to another file is refused", async () => {
    const { cell, out, dest } = await freshCell();
    const other = join(out, "elsewhere");
    writeFileSync(other, "not the output");
    linkSync(other, join(out, "result.pdf"));
    await expect(cell.claim(join(out, "result.pdf"), join(dest, "result.pdf"))).rejects.toMatchObject({
      code: "convert.engine_failure",
    });
    expect(statSync(other).nlink).toBe(1);
  });

  test("a path outside the cell is refused before anything moves", async () => {
    const { cell, dest } = await freshCell();
    await expect(cell.claim(secret, join(dest, "x"))).rejects.toMatchObject({ code: "convert.engine_failure" });
    await expect(cell.claim(join(cell.dir, "..", "server-secret.txt"), join(dest, "x"))).rejects.toMatchObject({
      code: "convert.engine_failure",
    });
    expect(existsSync(secret)).toBe(true);
  });
});

describe("paths as the sandbox sees them", () => {
  test("inside bwrap the cell is /docconv; paths the process reports map back only when inside it", async () => {
    const { cell, out } = await freshCell(true);
    expect(cell.inner(join(out, "a.pdf"))).toBe(`${CELL_ROOT}/out/a.pdf`);
    expect(cell.outer(`${CELL_ROOT}/out/a.pdf`)).toBe(join(out, "a.pdf"));
    expect(cell.outer(`${CELL_ROOT}/../etc/passwd`)).toBeUndefined();
    expect(cell.outer("/etc/passwd")).toBeUndefined();
    expect(cell.outer(`${CELL_ROOT}x/a.pdf`)).toBeUndefined();
    expect(() => cell.inner(secret)).toThrow(/outside the cell/);
  });

  test("the cell is the server's and its writable directories are private", async () => {
    const { cell, out } = await freshCell();
    expect(statSync(cell.dir).mode & 0o777).toBe(0o700); // no uid layer here: the server's alone
    expect(statSync(out).mode & 0o777).toBe(0o700);
    const job = await cell.serverDir("job-1");
    expect(statSync(job).mode & 0o777).toBe(0o711);
    const placed = await cell.place(secret, "job-1/doc.rtf");
    expect(statSync(placed).mode & 0o777).toBe(0o600);
    expect(statSync(placed).ino).toBe(statSync(secret).ino); // a hard link: nothing copied
  });
});
