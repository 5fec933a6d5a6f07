// Seed 000 (../shared/seeds/000_1449d1a91cc5ff87.txt), as a client written from it alone would use docconv:
// its Python flow sent byte for byte as `requests` sends it, its response shapes, its error table, its
// performance notes (first slide for deck png, ?sheet=). Real converter, Workers runtime.
import { env, exports } from "cloudflare:workers";
import { unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { BASE, balance, fixture, parkedJob, seedAccount, type TestAccount } from "./harness";
import { decodePng } from "./png-decode";

// What Python's `requests` puts on every call (requests 2.x), plus the doc's `H = {"X-API-Key": KEY}`.
const pythonHeaders = (key: string | null, extra: Record<string, string> = {}) => ({
  "User-Agent": "python-requests/2.32.3",
  "Accept-Encoding": "gzip, deflate",
  Accept: "*/*",
  Connection: "keep-alive",
  ...(key ? { "X-API-Key": key } : {}),
  ...extra,
});

/** requests.post(url, headers=H, files={"file": f}, data={"purpose": "reference"}): multipart, data fields first. */
function multipartBody(
  fields: Record<string, string>,
  file?: { name: string; bytes: Uint8Array },
): { body: Uint8Array; contentType: string } {
  const boundary = "9f1c2e6a0b7d4c3e8a5f6b1d2c3e4f5a";
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  if (file) {
    parts.push(
      enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\n\r\n`),
      file.bytes,
      enc.encode("\r\n"),
    );
  }
  parts.push(enc.encode(`--${boundary}--\r\n`));
  const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

const API = `${BASE}/v1`;
const send = (url: string, init: RequestInit) => exports.default.fetch(new Request(url, init));

async function json(res: Response): Promise<{ status: number; body: any }> {
  return { status: res.status, body: await res.json() };
}

/** upload = requests.post(f"{API}/files", headers=H, files={"file": f}, data={"purpose": "reference"}).json() */
async function uploadFile(account: TestAccount, name: string, bytes = fixture(name)) {
  const { body, contentType } = multipartBody({ purpose: "reference" }, { name, bytes });
  return json(
    await send(`${API}/files`, {
      method: "POST",
      headers: pythonHeaders(account.key, { "Content-Type": contentType }),
      body,
    }),
  );
}

/**
 * convert = requests.post(f"{API}/files/{file_id}/convert", headers=H, data={"format": "pdf"}).json()
 * With only `data=`, requests sends application/x-www-form-urlencoded; the doc's table calls the body a
 * multipart form: both are sent by clients written from it, both must work.
 */
async function convertFile(
  account: TestAccount | null,
  fileId: string,
  fields: Record<string, string>,
  encoding: "urlencoded" | "multipart" = "urlencoded",
  query = "",
) {
  const url = `${API}/files/${fileId}/convert${query}`;
  if (encoding === "multipart") {
    const { body, contentType } = multipartBody(fields);
    return json(
      await send(url, {
        method: "POST",
        headers: pythonHeaders(account?.key ?? null, { "Content-Type": contentType }),
        body,
      }),
    );
  }
  const body = new URLSearchParams(fields).toString();
  return json(
    await send(url, {
      method: "POST",
      headers: pythonHeaders(account?.key ?? null, { "Content-Type": "application/x-www-form-urlencoded" }),
      body,
    }),
  );
}

/** requests.post(f"{API}/runs/{run_id}/export", headers=H, json={"format": "pdf"}).json() */
async function exportRun(account: TestAccount, runId: string, payload: Record<string, unknown>, query = "") {
  return json(
    await send(`${API}/runs/${runId}/export${query}`, {
      method: "POST",
      headers: pythonHeaders(account.key, { "Content-Type": "application/json" }),
      body: JSON.stringify(payload),
    }),
  );
}

/** requests.get(download_url): no key, as the signed URL is handed to someone else. */
async function fetchSigned(url: string): Promise<{ status: number; contentType: string | null; bytes: Uint8Array }> {
  const res = await send(url, { headers: pythonHeaders(null) });
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    bytes: new Uint8Array(await res.arrayBuffer()),
  };
}

/** A finished run: a job of the key's account (the docs' /*\/generate; here POST /v1/convert). */
async function finishedRun(account: TestAccount, fixtureName: string, targetFormat: string): Promise<string> {
  const fd = new FormData();
  fd.set("file", new File([fixture(fixtureName)], fixtureName));
  fd.set("targetFormat", targetFormat);
  const accepted = await account.json("/v1/convert", { method: "POST", body: fd });
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  for (let i = 0; i < 600; i++) {
    const job = (await account.json(`/v1/convert/job/${accepted.body.id}`)).body;
    if (job.status === "Succeeded") return job.id;
    if (job.status === "Failed" || job.status === "Canceled")
      throw new Error(`run ${job.id} ${job.status}: ${JSON.stringify(job.error)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("run did not finish");
}

// "expires_at": "2026-04-20T12:00:00+00:00" — the doc's form, which datetime.fromisoformat reads on any Python 3.7+.
const SEED_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/;
const FILE_CONVERT_KEYS = ["download_url", "expires_at", "file_id", "format", "source_format"];
const RUN_EXPORT_KEYS = ["download_url", "expires_at", "format"];

describe("seed 000: convert a file you uploaded", () => {
  it("runs the Python example as written: upload with purpose, convert with `format`, download the signed URL without a key", async () => {
    const account = await seedAccount({ credits: 100 });
    const upload = await uploadFile(account, "contract.docx", fixture("docx-header-footer.docx"));
    expect(upload.status).toBe(201);
    expect(upload.body.file_id).toMatch(/^file_/);
    expect(upload.body.purpose).toBe("reference");

    const convert = await convertFile(account, upload.body.file_id, { format: "pdf" });
    expect(convert.status, JSON.stringify(convert.body)).toBe(200);
    // Response shape: exactly the doc's five fields.
    expect(Object.keys(convert.body).sort()).toEqual(FILE_CONVERT_KEYS);
    expect(convert.body).toMatchObject({ file_id: upload.body.file_id, source_format: "docx", format: "pdf" });
    expect(convert.body.expires_at).toMatch(SEED_TIMESTAMP);
    // "download_url is signed for 1 hour"
    const ttl = Date.parse(convert.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(3590_000 - 5_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);

    const pdf = await fetchSigned(convert.body.download_url);
    expect(pdf.status).toBe(200);
    expect(pdf.contentType).toBe("application/pdf");
    expect(new TextDecoder().decode(pdf.bytes.slice(0, 5))).toBe("%PDF-");
    // Content, not only magic bytes: the page count the fixture's provenance row states.
    expect(new TextDecoder("latin1").decode(pdf.bytes).match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length).toBe(2);
  });

  it("takes `format` as a multipart form too, as the doc's request table says", async () => {
    const account = await seedAccount({ credits: 100 });
    const upload = await uploadFile(account, "notes.odt", fixture("odt-raw-text.odt"));
    const convert = await convertFile(account, upload.body.file_id, { format: "txt" }, "multipart");
    expect(convert.status, JSON.stringify(convert.body)).toBe(200);
    expect(convert.body).toMatchObject({ source_format: "odt", format: "txt" });
    const text = new TextDecoder().decode((await fetchSigned(convert.body.download_url)).bytes);
    expect(text).toContain("Sample OppenOffice Writer file"); // sic: the fixture's own spelling
  });

  it("re-signs the cached artifact on a repeat call instead of converting again", async () => {
    const account = await seedAccount({ credits: 100 });
    const upload = await uploadFile(account, "contract.docx", fixture("docx-header-footer.docx"));
    const first = await convertFile(account, upload.body.file_id, { format: "pdf" });
    const charged = await balance(account.accountId);
    const again = await convertFile(account, upload.body.file_id, { format: "pdf" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ file_id: first.body.file_id, format: "pdf" });
    expect((await fetchSigned(again.body.download_url)).bytes).toEqual(
      (await fetchSigned(first.body.download_url)).bytes,
    );
    expect(await balance(account.accountId)).toEqual(charged);
    const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(jobs!.n).toBe(1);
  });

  it("converts every pair of the doc's matrix that docconv lists", async () => {
    // The doc's table, From → To; each must be in the catalog (docconv goes beyond it, never below).
    const seedMatrix: Record<string, string[]> = {
      xlsx: ["pdf", "csv", "png", "html"],
      xls: ["pdf", "csv", "xlsx", "html"],
      docx: ["pdf", "html", "txt", "odt"],
      doc: ["pdf", "docx", "html", "txt"],
      pptx: ["pdf", "png", "odp"],
      ppt: ["pdf", "pptx", "png"],
    };
    const catalog = await (await send(`${API}/convert/conversions`, {})).json<any>();
    for (const [from, targets] of Object.entries(seedMatrix)) {
      const listed = catalog.sourceFormatTo[from].map((e: any) => e.targetFormat);
      expect(listed, from).toEqual(expect.arrayContaining(targets));
    }
  });
});

describe("seed 000: performance notes", () => {
  it("renders only the first slide for deck png: one PNG, not a ZIP of every slide", async () => {
    const account = await seedAccount({ credits: 100 });
    const upload = await uploadFile(account, "deck.pptx", fixture("pptx-raw-text.pptx"));
    const png = await convertFile(account, upload.body.file_id, { format: "png" });
    expect(png.status, JSON.stringify(png.body)).toBe(200);
    expect(png.body.format).toBe("png");
    const file = await fetchSigned(png.body.download_url);
    expect(file.contentType).toBe("image/png");
    const image = await decodePng(file.bytes);
    // A 4:3 or 16:9 slide, landscape, at the default 150 dpi.
    expect(image.width).toBeGreaterThan(image.height);
    // jpg likewise: one image of the first slide.
    const jpg = await convertFile(account, upload.body.file_id, { format: "jpg" });
    const jpeg = await fetchSigned(jpg.body.download_url);
    expect(jpeg.contentType).toBe("image/jpeg");
    expect([...jpeg.bytes.slice(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
  });

  it("gives every slide as a ZIP when asked (pages=all), and a range (pages=2-3), without mixing them up in the cache", async () => {
    const account = await seedAccount({ credits: 100 });
    const upload = await uploadFile(account, "deck.pptx", fixture("pptx-raw-text.pptx"));
    const first = await convertFile(account, upload.body.file_id, { format: "png" });
    const all = await convertFile(account, upload.body.file_id, { format: "png", pages: "all" });
    const range = await convertFile(account, upload.body.file_id, { format: "png", pages: "2-3" });
    const firstAgain = await convertFile(account, upload.body.file_id, { format: "png" });
    for (const r of [first, all, range, firstAgain]) expect(r.status, JSON.stringify(r.body)).toBe(200);

    const allZip = await fetchSigned(all.body.download_url);
    expect(allZip.contentType).toBe("application/zip");
    expect(Object.keys(unzipSync(allZip.bytes)).sort()).toEqual(["page-001.png", "page-002.png", "page-003.png"]);
    const rangeZip = await fetchSigned(range.body.download_url);
    expect(Object.keys(unzipSync(rangeZip.bytes)).sort()).toEqual(["page-002.png", "page-003.png"]);
    // The first slide alone is still the first slide: the ZIPs never replaced it in the cache.
    const single = await fetchSigned(firstAgain.body.download_url);
    expect(single.contentType).toBe("image/png");
    expect(single.bytes).toEqual(unzipSync(allZip.bytes)["page-001.png"]);
    const jobs = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?1")
      .bind(account.accountId)
      .first<{ n: number }>();
    expect(jobs!.n).toBe(3);
  });

  it("takes ?sheet=<n> for csv from a multi-sheet workbook, and refuses a body field that disagrees", async () => {
    const account = await seedAccount({ credits: 100 });
    const upload = await uploadFile(account, "book.ods", fixture("ods-many-sheets.ods"));
    const active = await convertFile(account, upload.body.file_id, { format: "csv" });
    const second = await convertFile(account, upload.body.file_id, { format: "csv" }, "urlencoded", "?sheet=2");
    expect(active.status).toBe(200);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    const activeText = new TextDecoder().decode((await fetchSigned(active.body.download_url)).bytes);
    const secondText = new TextDecoder().decode((await fetchSigned(second.body.download_url)).bytes);
    expect(secondText).not.toBe(activeText);
    // The same sheet asked as a form field is the same cached rendition.
    const sameAsField = await convertFile(account, upload.body.file_id, { format: "csv", sheet: "2" });
    expect(new TextDecoder().decode((await fetchSigned(sameAsField.body.download_url)).bytes)).toBe(secondText);
    const conflict = await convertFile(
      account,
      upload.body.file_id,
      { format: "csv", sheet: "1" },
      "urlencoded",
      "?sheet=2",
    );
    expect(conflict.status).toBe(400);
    expect(conflict.body).toMatchObject({ error: "invalid_request", code: "request.invalid", option: "sheet" });
    const agree = await convertFile(
      account,
      upload.body.file_id,
      { format: "csv", sheet: "2" },
      "urlencoded",
      "?sheet=2",
    );
    expect(agree.status).toBe(200);
  });
});

describe("seed 000: convert a run's output", () => {
  it("runs the export example: JSON {format}, the doc's response shape, a keyless download", async () => {
    const account = await seedAccount({ credits: 100 });
    const runId = await finishedRun(account, "docx-header-footer.docx", "odt");
    const pdf = await exportRun(account, runId, { format: "pdf" });
    expect(pdf.status, JSON.stringify(pdf.body)).toBe(200);
    expect(Object.keys(pdf.body).sort()).toEqual(RUN_EXPORT_KEYS);
    expect(pdf.body.format).toBe("pdf");
    expect(pdf.body.expires_at).toMatch(SEED_TIMESTAMP);
    const file = await fetchSigned(pdf.body.download_url);
    expect(file.status).toBe(200);
    expect(new TextDecoder().decode(file.bytes.slice(0, 5))).toBe("%PDF-");
  });

  it("exports a run as png: its first page, one PNG; ?sheet= works on exports too", async () => {
    const account = await seedAccount({ credits: 100 });
    const runId = await finishedRun(account, "docx-header-footer.docx", "pdf"); // a 2-page PDF
    const png = await exportRun(account, runId, { format: "png" });
    expect(png.status, JSON.stringify(png.body)).toBe(200);
    const file = await fetchSigned(png.body.download_url);
    expect(file.contentType).toBe("image/png");
    expect((await decodePng(file.bytes)).height).toBeGreaterThan(1000); // a portrait page at 150 dpi

    const book = await finishedRun(account, "ods-many-sheets.ods", "xlsx");
    const csv = await exportRun(account, book, { format: "csv" }, "?sheet=2");
    expect(csv.status, JSON.stringify(csv.body)).toBe(200);
    const mismatch = await exportRun(account, book, { format: "csv", sheet: "3" }, "?sheet=2");
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatchObject({ error: "invalid_request", code: "request.invalid" });
  });
});

describe("seed 000: the error table", () => {
  it("400 invalid_request: an unsupported pair, the valid targets in the message", async () => {
    const account = await seedAccount({ credits: 100 });
    const upload = await uploadFile(account, "contract.docx", fixture("docx-header-footer.docx"));
    const res = await convertFile(account, upload.body.file_id, { format: "mp3" });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("invalid_request");
    expect(res.body.code).toBe("convert.unsupported_format_pair");
    for (const target of ["pdf", "html", "txt", "odt"]) expect(res.body.message).toContain(target);
    expect(res.body.supportedTargets).toEqual(expect.arrayContaining(["pdf", "html", "txt", "odt"]));

    const runId = await finishedRun(account, "docx-header-footer.docx", "odt");
    const run = await exportRun(account, runId, { format: "mp3" });
    expect(run.status).toBe(400);
    expect(run.body).toMatchObject({ error: "invalid_request", code: "convert.unsupported_format_pair" });
    expect(run.body.message).toContain("pdf");
  });

  it("404 not_found: a file or run that does not exist or is not visible to this key", async () => {
    const owner = await seedAccount({ credits: 100 });
    const stranger = await seedAccount({ credits: 100 });
    const upload = await uploadFile(owner, "contract.docx", fixture("docx-header-footer.docx"));
    for (const [who, id] of [
      [owner, "file_doesnotexist"],
      [stranger, upload.body.file_id],
    ] as const) {
      const res = await convertFile(who, id, { format: "pdf" });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: "not_found", code: "files.not_found" });
    }
    const runId = await parkedJob(owner, "Queued");
    for (const [who, id] of [
      [owner, "019a4f6e-7c3b-7d2e-9f10-3b5c2a1d4e5f"],
      [stranger, runId],
    ] as const) {
      const res = await exportRun(who, id, { format: "pdf" });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ error: "not_found", code: "runs.not_found" });
    }
  });

  it("409 conflict: (runs only) the run is not complete yet", async () => {
    const account = await seedAccount({ credits: 100 });
    for (const state of ["Queued", "Running"] as const) {
      const runId = await parkedJob(account, state);
      const res = await exportRun(account, runId, { format: "pdf" });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ error: "conflict", code: "runs.not_succeeded", status: state });
    }
  });

  it("502 upstream_error: the conversion failed mid-run, refunded, and a retry converts again", async () => {
    const account = await seedAccount({ credits: 50 });
    const upload = await uploadFile(account, "contract.docx", fixture("docx-header-footer.docx"));
    // The stored input disappears under the converter: a failure of the pipeline, not of the document.
    await env.BUCKET.delete(`uploads/${account.accountId}/${upload.body.file_id}`);
    const res = await convertFile(account, upload.body.file_id, { format: "pdf" });
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ error: "upstream_error", code: "convert.failed" });
    expect(await balance(account.accountId)).toEqual({ credits: 50, ledgerSum: 50 });
    await env.BUCKET.put(`uploads/${account.accountId}/${upload.body.file_id}`, fixture("docx-header-footer.docx"));
    const retry = await convertFile(account, upload.body.file_id, { format: "pdf" });
    expect(retry.status, JSON.stringify(retry.body)).toBe(200);
  });

  it("statuses the table does not list answer with a class in the same style, the dotted code in `code`", async () => {
    const broke = await seedAccount({ credits: 0 });
    const upload = await uploadFile(broke, "contract.docx", fixture("docx-header-footer.docx"));
    const unpaid = await convertFile(broke, upload.body.file_id, { format: "pdf" });
    expect(unpaid.status).toBe(402);
    expect(unpaid.body).toMatchObject({ error: "payment_required", code: "credits.insufficient" });
    const nokey = await convertFile(null, upload.body.file_id, { format: "pdf" });
    expect(nokey.status).toBe(401);
    expect(nokey.body).toMatchObject({ error: "unauthorized", code: "auth.missing_key" });
    const wrongBody = await send(`${API}/files/${upload.body.file_id}/convert`, {
      method: "POST",
      headers: pythonHeaders(broke.key, { "Content-Type": "application/json" }),
      body: '{"format":"pdf"}',
    });
    expect(wrongBody.status).toBe(415);
    expect(await wrongBody.json()).toMatchObject({
      error: "unsupported_media_type",
      code: "request.unsupported_content_type",
    });
    const account = await seedAccount({ credits: 50 });
    const locked = await uploadFile(account, "locked.odt", fixture("hostile-password-protected.odt"));
    const unreadable = await convertFile(account, locked.body.file_id, { format: "pdf" });
    expect(unreadable.status).toBe(422);
    expect(unreadable.body).toMatchObject({ error: "unprocessable", code: "convert.password_protected" });
    expect(await balance(account.accountId)).toEqual({ credits: 50, ledgerSum: 50 });
  });
});
