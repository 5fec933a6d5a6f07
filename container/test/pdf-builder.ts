// Test-made PDFs with the structures the detector must follow: classic xref tables, xref streams (with and
// without PNG predictors), object streams, incremental updates and junk before the header. Checked by
// poppler's pdfinfo in the tests, so the builder is not its own judge.
import { deflateSync } from "node:zlib";

export interface PdfPlan {
  pages: number;
  /** Cross-reference stream instead of a table. */
  xrefStream?: boolean;
  /** PNG "Up" predictor on the xref stream (what Acrobat and qpdf write). */
  predictor?: boolean;
  /** Catalog, page tree and pages inside one object stream (needs xrefStream). */
  objectStreams?: boolean;
  /** Bytes before %PDF- (offsets then count from the header). */
  junkBefore?: string;
  /** An incremental update that replaces the page tree by one with this many pages. */
  update?: { pages: number; xrefStream?: boolean };
  /** Put /Count behind an indirect reference. */
  indirectCount?: boolean;
}

const enc = (s: string) => Buffer.from(s, "latin1");

export function buildPdf(plan: PdfPlan): Buffer {
  const parts: Buffer[] = [];
  let length = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    length += b.length;
  };
  const junk = plan.junkBefore ? enc(plan.junkBefore) : Buffer.alloc(0);
  push(junk);
  const base = junk.length;
  push(enc("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"));

  const n = plan.pages;
  const pageIds = Array.from({ length: n }, (_, i) => 4 + i);
  const bodies = new Map<number, string>();
  bodies.set(1, "<< /Type /Catalog /Pages 2 0 R >>");
  bodies.set(
    2,
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${plan.indirectCount ? "3 0 R" : n} >>`,
  );
  bodies.set(3, `${n}`);
  for (const id of pageIds) bodies.set(id, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << >> >>");
  const content = 4 + n; // one shared empty content stream keeps poppler happy
  for (const id of pageIds)
    bodies.set(id, `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents ${content} 0 R /Resources << >> >>`);

  const offsets = new Map<number, number>();
  const compressed = new Map<number, { stream: number; index: number }>();
  const writeObject = (id: number, body: string | Buffer, dict?: string) => {
    offsets.set(id, length - base);
    if (typeof body === "string") push(enc(`${id} 0 obj\n${body}\nendobj\n`));
    else {
      push(enc(`${id} 0 obj\n${dict}\nstream\n`));
      push(body);
      push(enc("\nendstream\nendobj\n"));
    }
  };
  writeObject(content, Buffer.alloc(0), "<< /Length 0 >>");

  let nextId = content + 1;
  if (plan.objectStreams) {
    const ids = [...bodies.keys()].filter((id) => id !== 3 || plan.indirectCount);
    const objStm = nextId++;
    let header = "";
    let data = "";
    ids.forEach((id, index) => {
      header += `${id} ${data.length} `;
      data += `${bodies.get(id)}\n`;
      compressed.set(id, { stream: objStm, index });
    });
    const raw = enc(header + data);
    const z = deflateSync(raw);
    writeObject(
      objStm,
      z,
      `<< /Type /ObjStm /N ${ids.length} /First ${header.length} /Filter /FlateDecode /Length ${z.length} >>`,
    );
  } else {
    for (const [id, body] of bodies) writeObject(id, body);
  }
  const size = nextId + 1;
  const xref = (
    entries: Map<number, number>,
    comp: Map<number, { stream: number; index: number }>,
    stream: boolean,
    predictor: boolean,
    trailer: string,
    id: number,
  ) => {
    const at = length - base;
    if (!stream) {
      const ids = [...entries.keys()].sort((a, b) => a - b);
      let text = "xref\n0 1\n0000000000 65535 f \n";
      // one subsection per run of consecutive ids
      let i = 0;
      while (i < ids.length) {
        let j = i;
        while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
        text += `${ids[i]} ${j - i + 1}\n`;
        for (let k = i; k <= j; k++) text += `${String(entries.get(ids[k]!)).padStart(10, "0")} 00000 n \n`;
        i = j + 1;
      }
      push(enc(`${text}trailer\n<< /Size ${size} ${trailer} >>\nstartxref\n${at}\n%%EOF\n`));
      return;
    }
    entries.set(id, at);
    const all = [...new Set([0, ...entries.keys(), ...comp.keys()])].sort((a, b) => a - b);
    const rows: number[][] = all.map((objectId) => {
      if (objectId === 0) return [0, 0, 0, 0, 0xff, 0xff];
      const c = comp.get(objectId);
      if (c) return [2, 0, 0, c.stream >> 8, c.stream & 0xff, c.index];
      const o = entries.get(objectId)!;
      return [1, (o >> 24) & 0xff, (o >> 16) & 0xff, (o >> 8) & 0xff, o & 0xff, 0].slice(0, 6);
    });
    // W [1 4 1]: type, offset/stream (4 bytes), gen/index (1 byte)
    const width = 6;
    const packed: number[] = [];
    let previous = new Array(width).fill(0);
    for (const r of rows) {
      const row =
        r.length === 6 && r[0] === 2 ? [2, 0, 0, r[3]!, r[4]!, r[5]!] : r[0] === 0 ? [0, 0, 0, 0, 0, 0xff] : r;
      if (predictor) {
        packed.push(2, ...row.map((b, i) => (b - previous[i]) & 0xff));
        previous = row;
      } else packed.push(...row);
    }
    // /Index: runs of consecutive ids
    const index: number[] = [];
    let i = 0;
    while (i < all.length) {
      let j = i;
      while (j + 1 < all.length && all[j + 1] === all[j]! + 1) j++;
      index.push(all[i]!, j - i + 1);
      i = j + 1;
    }
    const z = deflateSync(Buffer.from(packed));
    const parms = predictor ? ` /DecodeParms << /Predictor 12 /Columns ${width} >>` : "";
    push(
      enc(
        `${id} 0 obj\n<< /Type /XRef /Size ${Math.max(size, id + 1)} /W [1 4 1] /Index [${index.join(" ")}] /Filter /FlateDecode${parms} /Length ${z.length} ${trailer} >>\nstream\n`,
      ),
    );
    push(z);
    push(enc(`\nendstream\nendobj\nstartxref\n${at}\n%%EOF\n`));
  };
  const firstXref = length - base;
  xref(offsets, compressed, !!plan.xrefStream, !!plan.predictor, "/Root 1 0 R", nextId);
  if (plan.update) {
    // Replace the page tree: new page objects and object 2 again, then a section whose /Prev is the first.
    const m = plan.update.pages;
    const updated = new Map<number, number>();
    const start = nextId + 2;
    const newIds = Array.from({ length: m }, (_, k) => start + k);
    for (const id of newIds) {
      updated.set(id, length - base);
      push(
        enc(
          `${id} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents ${content} 0 R /Resources << >> >>\nendobj\n`,
        ),
      );
    }
    updated.set(2, length - base);
    push(enc(`2 0 obj\n<< /Type /Pages /Kids [${newIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${m} >>\nendobj\n`));
    const sizeAfter = start + m + 1;
    const trailer = `/Root 1 0 R /Prev ${firstXref}`;
    if (plan.update.xrefStream) xref(updated, new Map(), true, false, trailer, sizeAfter);
    else {
      const ids = [...updated.keys()].sort((a, b) => a - b);
      let text = "xref\n";
      let i = 0;
      while (i < ids.length) {
        let j = i;
        while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
        text += `${ids[i]} ${j - i + 1}\n`;
        for (let k = i; k <= j; k++) text += `${String(updated.get(ids[k]!)).padStart(10, "0")} 00000 n \n`;
        i = j + 1;
      }
      const at = length - base;
      push(enc(`${text}trailer\n<< /Size ${sizeAfter} ${trailer} >>\nstartxref\n${at}\n%%EOF\n`));
    }
  }
  return Buffer.concat(parts);
}
