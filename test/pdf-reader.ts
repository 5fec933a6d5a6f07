// Poppler on loopback, started by global-setup.ts in Node: the Workers runtime cannot run pdfinfo or pdftotext,
// so tests POST a PDF here and read back what poppler's own tools say about it (the tools the fixtures'
// reference figures came from, test/fixtures/formats/README.md).
//   POST /pdf   body: the PDF  →  {pages, text, layoutText}   (pdfinfo's "Pages"; pdftotext in reading order,
//               and with -layout, which keeps a table's rows on their lines)
//   any failure of the tools   →  422 {error}
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PdfReading {
  pages: number;
  text: string;
  layoutText: string;
}

const run = (cmd: string, args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );

const readBody = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });

export async function startPdfReader(): Promise<{ port: number; stop: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "docconv-pdf-reader-"));
  let n = 0;
  const server = createServer(async (req, res) => {
    const answer = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.method !== "POST" || req.url !== "/pdf") return answer(404, { error: "POST /pdf" });
    const path = join(dir, `${++n}.pdf`);
    try {
      writeFileSync(path, await readBody(req));
      const info = await run("pdfinfo", [path]);
      const pages = Number(/^Pages:\s+(\d+)/m.exec(info)?.[1]);
      const text = await run("pdftotext", ["-enc", "UTF-8", path, "-"]);
      const layoutText = await run("pdftotext", ["-layout", "-enc", "UTF-8", path, "-"]);
      answer(200, { pages, text, layoutText } satisfies PdfReading);
    } catch (err) {
      answer(422, { error: String(err) });
    } finally {
      rmSync(path, { force: true });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
