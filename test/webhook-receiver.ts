// A programmable webhook receiver on loopback, started by global-setup.ts in Node. Tests (inside the Workers
// runtime) program it and read what arrived over HTTP:
//   POST /__program  {path, responses: [500, 500, 200, "hang", {status, body, location}]}  answers in order,
//                    then 200 for ever after
//   GET  /__received?path=/x   what arrived at /x: [{method, path, headers, body, at}]
// Any other path records the request and answers with that path's next programmed response.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Programmed = number | "hang" | { status: number; body?: string; location?: string };

export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export async function startWebhookReceiver(): Promise<{ port: number; stop: () => Promise<void> }> {
  const programs = new Map<string, Programmed[]>();
  const received = new Map<string, Received[]>();

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });

  const json = (res: ServerResponse, status: number, value: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://receiver");
    const body = await readBody(req);
    if (url.pathname === "/__program" && req.method === "POST") {
      const { path, responses } = JSON.parse(body) as { path: string; responses: Programmed[] };
      programs.set(path, [...responses]);
      return json(res, 204, null);
    }
    if (url.pathname === "/__received") {
      return json(res, 200, received.get(url.searchParams.get("path") ?? "") ?? []);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
    const list = received.get(url.pathname) ?? [];
    list.push({ method: req.method ?? "", path: url.pathname, headers, body, at: Date.now() });
    received.set(url.pathname, list);

    const next = programs.get(url.pathname)?.shift() ?? 200;
    if (next === "hang") return; // never answers; stop() closes the socket
    const spec = typeof next === "number" ? { status: next } : next;
    res.writeHead(spec.status, { "content-type": "text/plain", ...(spec.location ? { location: spec.location } : {}) });
    res.end(spec.body ?? `status ${spec.status}`);
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
