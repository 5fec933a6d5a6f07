// A converter that misbehaves on purpose, for fault injection only (real conversions use the real
// converter). The first path segment picks the fault: point CONVERTER_URL at http://127.0.0.1:PORT/<fault>.
//   crash  → the connection is cut mid-request      hang → never answers (hang-<tag>: counted under that tag;
//            GET /__hangs/hang-<tag> answers {received, closed}: requests held, and those the client closed)
//   fail   → 500 convert.engine_failure             busy → 503 convert.busy with Retry-After: 1
//   short  → 200 with a body shorter than its Content-Length (the response breaks while being stored)
//   pages  → 422 convert.too_many_pages, as the converter answers a document whose real count passes the
//            request's maxPages (echoed in the detail and the context, so tests see what the Worker sent)
import { createServer, type Server } from "node:http";

export async function startFakeConverter(): Promise<{ port: number; stop(): Promise<void> }> {
  const hanging = new Set<import("node:http").ServerResponse>();
  const hangs = new Map<string, { received: number; closed: number }>();
  const server: Server = createServer((req, res) => {
    const fault = (req.url ?? "/").split("/")[1] ?? "";
    if (fault === "__hangs" && req.method === "GET") {
      const tag = (req.url ?? "/").split("/")[2] ?? "";
      return json(res, 200, hangs.get(tag) ?? { received: 0, closed: 0 });
    }
    req.resume();
    req.on("end", () => {
      if (fault === "crash") return req.socket.destroy();
      if (fault.startsWith("hang")) {
        const count = hangs.get(fault) ?? { received: 0, closed: 0 };
        hangs.set(fault, count);
        count.received++;
        res.on("close", () => {
          if (!res.writableFinished) count.closed++;
        });
        return void hanging.add(res);
      }
      if (fault === "fail")
        return json(res, 500, { error: "convert.engine_failure", detail: "soffice crashed (injected)" });
      if (fault === "busy") {
        res.setHeader("Retry-After", "1");
        return json(res, 503, { error: "convert.busy", detail: "queue full (injected)" });
      }
      if (fault === "pages") {
        const maxPages = new URL(req.url ?? "/", "http://fake").searchParams.get("maxPages");
        return json(res, 422, {
          error: "convert.too_many_pages",
          detail: `the document has more pages than maxPages=${maxPages} (injected)`,
          maxPages: Number(maxPages),
        });
      }
      if (fault === "short") {
        res.writeHead(200, {
          "content-type": "application/pdf",
          "content-length": "100000",
          "x-output-extension": "pdf",
          "x-output-files": "1",
        });
        res.write("%PDF-1.4 truncated");
        setTimeout(() => req.socket.destroy(), 50);
        return;
      }
      json(res, 404, { error: "not_found", detail: `unknown fault ${fault}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(res: import("node:http").ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
