// Downloads per RFC 9110: conditional requests (304, 412), ranges (206, 416, or the whole file when the Range
// must be ignored), HEAD, and never a 5xx from whatever the request's header fields say. Every case runs on
// both routes that serve stored files: signed download URLs and a job's download with the key.
import { env, exports } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { completeJob } from "../src/db/jobs";
import { parseEntityTags, parseHttpDate, parseSingleByteRange } from "../src/storage/conditional-requests";
import { signDownloadUrl } from "../src/storage/signed-urls";
import { BASE, parkedJob, seedAccount, type TestAccount } from "./harness";

const SIZE = 1000;
// Every byte differs from its neighbours, so a wrong offset cannot pass.
const CONTENT = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + 3) % 251);

interface Served {
  etag: string;
  lastModified: string;
  routes: { name: string; fetch: (headers?: Record<string, string>, method?: string) => Promise<Response> }[];
}

/** An object in R2 behind both routes: a signed URL, and a Succeeded job's download. */
async function servedObject(account: TestAccount, bytes: Uint8Array, name: string): Promise<Served> {
  const jobId = await parkedJob(account, "Running");
  const key = `outputs/${account.accountId}/${jobId}/1/${name}`;
  const stored = await env.BUCKET.put(key, bytes, { httpMetadata: { contentType: "text/plain" } });
  const attached = await completeJob(
    env.DB,
    jobId,
    1,
    {
      outputKey: key,
      outputBytes: bytes.byteLength,
      outputPages: 1,
      inputPages: 1,
      outputFileName: name,
      outputContentType: "text/plain",
      outputFileCount: 1,
      outputExpiresAt: null,
    },
    Date.now(),
  );
  expect(attached).toBe(true);
  const signed = await signDownloadUrl(BASE, "test-signing-key", {
    key,
    fileName: name,
    contentType: "text/plain",
    expiresAt: Date.now() + 3_600_000,
  });
  return {
    etag: stored!.httpEtag,
    lastModified: stored!.uploaded.toUTCString(),
    routes: [
      {
        name: "signed URL",
        fetch: (headers = {}, method = "GET") => exports.default.fetch(new Request(signed, { method, headers })),
      },
      {
        name: "job download",
        fetch: (headers = {}, method = "GET") => account.call(`/v1/convert/job/${jobId}/download`, { method, headers }),
      },
    ],
  };
}

let served: Served;
let empty: Served;

beforeAll(async () => {
  const account = await seedAccount();
  served = await servedObject(account, CONTENT, "report.txt");
  empty = await servedObject(account, new Uint8Array(), "empty.txt");
});

const httpDate = (ms: number) => new Date(ms).toUTCString();
const DAY = 86_400_000;

async function expectWhole(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-length")).toBe(String(SIZE));
  expect(res.headers.get("content-range")).toBeNull();
  expect(new Uint8Array(await res.arrayBuffer())).toEqual(CONTENT);
}

async function expectPart(res: Response, first: number, last: number) {
  expect(res.status).toBe(206);
  expect(res.headers.get("content-range")).toBe(`bytes ${first}-${last}/${SIZE}`);
  expect(res.headers.get("content-length")).toBe(String(last - first + 1));
  expect(new Uint8Array(await res.arrayBuffer())).toEqual(CONTENT.slice(first, last + 1));
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  expect(await res.json()).toMatchObject({
    error: code,
    type: { 412: "precondition_failed", 416: "range_not_satisfiable" }[status],
  });
}

async function expectNotModified(res: Response) {
  expect(res.status).toBe(304);
  expect(res.headers.get("etag")).toBe(served.etag);
  expect(await res.text()).toBe("");
}

describe.each(["signed URL", "job download"])("%s", (routeName) => {
  const fetchIt = (headers?: Record<string, string>, method?: string) =>
    served.routes.find((r) => r.name === routeName)!.fetch(headers, method);

  it("serves the whole file with its validators", async () => {
    const res = await fetchIt();
    expect(res.headers.get("etag")).toBe(served.etag);
    expect(res.headers.get("last-modified")).toBe(served.lastModified);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment;/);
    await expectWhole(res);
  });

  describe("If-None-Match and If-Modified-Since", () => {
    it("answers 304 when If-None-Match matches, weakly, in a list, or as *", async () => {
      await expectNotModified(await fetchIt({ "if-none-match": served.etag }));
      await expectNotModified(await fetchIt({ "if-none-match": `W/${served.etag}` }));
      await expectNotModified(await fetchIt({ "if-none-match": `"other", ${served.etag}` }));
      await expectNotModified(await fetchIt({ "if-none-match": "*" }));
    });

    it("serves the file when If-None-Match does not match", async () => {
      await expectWhole(await fetchIt({ "if-none-match": '"other"' }));
    });

    it("answers 304 when not modified since the date, and serves the file when it was", async () => {
      await expectNotModified(await fetchIt({ "if-modified-since": served.lastModified }));
      await expectWhole(await fetchIt({ "if-modified-since": httpDate(Date.parse(served.lastModified) - DAY) }));
    });

    it("ignores If-Modified-Since in the future, and when If-None-Match is present", async () => {
      await expectWhole(await fetchIt({ "if-modified-since": httpDate(Date.now() + DAY) }));
      await expectWhole(await fetchIt({ "if-none-match": '"other"', "if-modified-since": served.lastModified }));
    });
  });

  describe("If-Match and If-Unmodified-Since", () => {
    it("answers 412 download.precondition_failed when If-Match does not match, strongly", async () => {
      await expectError(await fetchIt({ "if-match": '"other"' }), 412, "download.precondition_failed");
      await expectError(await fetchIt({ "if-match": `W/${served.etag}` }), 412, "download.precondition_failed");
    });

    it("serves the file when If-Match matches or is *", async () => {
      await expectWhole(await fetchIt({ "if-match": served.etag }));
      await expectWhole(await fetchIt({ "if-match": `"a", ${served.etag}` }));
      await expectWhole(await fetchIt({ "if-match": "*" }));
    });

    it("answers 412 when modified since If-Unmodified-Since, unless If-Match decides", async () => {
      const before = httpDate(Date.parse(served.lastModified) - DAY);
      await expectError(await fetchIt({ "if-unmodified-since": before }), 412, "download.precondition_failed");
      await expectWhole(await fetchIt({ "if-unmodified-since": served.lastModified }));
      await expectWhole(await fetchIt({ "if-match": served.etag, "if-unmodified-since": before }));
    });

    it("checks If-Match before If-None-Match and Range", async () => {
      await expectError(
        await fetchIt({ "if-match": '"other"', "if-none-match": served.etag }),
        412,
        "download.precondition_failed",
      );
      await expectError(
        await fetchIt({ "if-match": '"other"', range: "bytes=0-9" }),
        412,
        "download.precondition_failed",
      );
      await expectNotModified(await fetchIt({ "if-none-match": served.etag, range: "bytes=0-9" }));
    });
  });

  describe("Range", () => {
    it.each([
      ["bytes=0-9", 0, 9],
      ["bytes=990-", 990, 999],
      ["bytes=-5", 995, 999],
      ["bytes=-5000", 0, 999],
      ["bytes=995-2000", 995, 999],
      ["bytes=999999999999999999999999-", null, null],
      ["BYTES=10-19", 10, 19],
      ["bytes= 10-19 ,", 10, 19],
      ["bytes=0-0", 0, 0],
    ])("%s", async (range, first, last) => {
      const res = await fetchIt({ range });
      if (first === null) {
        await expectError(res, 416, "download.range_not_satisfiable");
        expect(res.headers.get("content-range")).toBe(`bytes */${SIZE}`);
      } else await expectPart(res, first, last!);
    });

    it("answers 416 with Content-Range bytes */size for a range past the end", async () => {
      for (const range of ["bytes=1000-", "bytes=1000-1001", "bytes=-0"]) {
        const res = await fetchIt({ range });
        expect(res.headers.get("content-range"), range).toBe(`bytes */${SIZE}`);
        await expectError(res, 416, "download.range_not_satisfiable");
      }
    });

    it("serves the whole file for a Range it must ignore: invalid syntax, other units, several ranges", async () => {
      for (const range of [
        "bytes=5-2",
        "bytes=abc",
        "bytes=",
        "bytes=--1",
        "bytes=1-2-3",
        "bytes=0x10-",
        "items=0-5",
        "bytes 0-5",
        "=0-5",
        "bytes=0-1,5-6",
        "bytes=0-0,-1",
        "bytes=1000-,2000-",
      ]) {
        await expectWhole(await fetchIt({ range }));
      }
    });

    it("honours If-Range only when it matches the file", async () => {
      await expectPart(await fetchIt({ range: "bytes=0-9", "if-range": served.etag }), 0, 9);
      await expectPart(await fetchIt({ range: "bytes=0-9", "if-range": served.lastModified }), 0, 9);
      await expectWhole(await fetchIt({ range: "bytes=0-9", "if-range": '"other"' }));
      await expectWhole(await fetchIt({ range: "bytes=0-9", "if-range": `W/${served.etag}` }));
      await expectWhole(
        await fetchIt({ range: "bytes=0-9", "if-range": httpDate(Date.parse(served.lastModified) - DAY) }),
      );
      await expectWhole(await fetchIt({ range: "bytes=0-9", "if-range": "garbage" }));
    });
  });

  describe("HEAD", () => {
    it("answers the headers of the file without a body, and the validators' 304 and 412", async () => {
      const res = await fetchIt({}, "HEAD");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBe(String(SIZE));
      expect(res.headers.get("etag")).toBe(served.etag);
      expect(await res.text()).toBe("");
      expect((await fetchIt({ "if-none-match": served.etag }, "HEAD")).status).toBe(304);
      expect((await fetchIt({ "if-match": '"other"' }, "HEAD")).status).toBe(412);
      // Range is defined for GET only.
      const ranged = await fetchIt({ range: "bytes=0-9" }, "HEAD");
      expect(ranged.status).toBe(200);
      expect(ranged.headers.get("content-range")).toBeNull();
    });
  });

  it("ignores malformed validators", async () => {
    for (const value of ["abc", '"unterminated', "W/", 'W/"a', '"a" "b"', '"a",,b', '"\u0001"', '*, "a"', ""]) {
      await expectWhole(await fetchIt({ "if-none-match": value }));
      await expectWhole(await fetchIt({ "if-match": value }));
    }
    for (const value of [
      "yesterday",
      "1",
      "0",
      "2026-11-29",
      "Sun, 31 Feb 2026 10:00:00 GMT",
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "-1",
    ]) {
      await expectWhole(await fetchIt({ "if-modified-since": value }));
      await expectWhole(await fetchIt({ "if-unmodified-since": value }));
    }
  });

  it("answers 416 bytes */0 for any range of an empty file", async () => {
    const fetchEmpty = empty.routes.find((r) => r.name === routeName)!.fetch;
    for (const range of ["bytes=0-", "bytes=-1", "bytes=0-0"]) {
      const res = await fetchEmpty({ range });
      expect(res.headers.get("content-range")).toBe("bytes */0");
      await expectError(res, 416, "download.range_not_satisfiable");
    }
    const whole = await fetchEmpty();
    expect(whole.status).toBe(200);
    expect(await whole.arrayBuffer()).toHaveProperty("byteLength", 0);
  });
});

describe("header fuzz", () => {
  // A deterministic generator (xorshift32): valid field values, mutated by inserting, deleting or repeating
  // pieces, and plain noise made of the pieces these fields are built from.
  const PIECES = [
    "bytes",
    "BYTES",
    "items",
    "=",
    "-",
    ",",
    " ",
    "\t",
    "0",
    "1",
    "9",
    "999999999999999999999",
    '"',
    "W/",
    "*",
    "a",
    ";",
    "GMT",
    "Feb",
    ":",
    "%",
    "\\",
    "\u007f",
  ];
  const FIELDS = ["range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range"];

  it("never answers a 5xx, whatever the conditional and range fields say", async () => {
    let seed = 0x9e3779b9;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)]!;
    const number = () => pick(["0", "1", "5", "999", "1000", "1001", "99999999999999999999999"]);
    const valid = () =>
      pick([
        () => `bytes=${number()}-${number()}`,
        () => `bytes=${number()}-`,
        () => `bytes=-${number()}`,
        () => `bytes=${number()}-${number()},${number()}-`,
        () => served.etag,
        () => `W/${served.etag}`,
        () => `"other", ${served.etag}`,
        () => "*",
        () => served.lastModified,
        () => httpDate(Date.parse(served.lastModified) - DAY),
        () => httpDate(Date.now() + DAY),
      ])();
    const mutate = (text: string) => {
      const at = Math.floor(next() * (text.length + 1));
      const roll = next();
      if (roll < 0.25) return text.slice(0, at) + pick(PIECES) + text.slice(at);
      if (roll < 0.5) return text.slice(0, at) + text.slice(at + 1);
      if (roll < 0.6) return text + text;
      return text;
    };
    const noise = () => Array.from({ length: 1 + Math.floor(next() * 8) }, () => pick(PIECES)).join("");
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      const headers: Record<string, string> = {};
      for (const field of FIELDS) if (next() < 0.35) headers[field] = next() < 0.7 ? mutate(valid()) : noise();
      const route = served.routes[i % 2]!;
      const method = next() < 0.15 ? "HEAD" : "GET";
      const res = await route.fetch(headers, method);
      await res.arrayBuffer();
      expect([200, 206, 304, 412, 416], `${route.name} ${method} ${JSON.stringify(headers)}`).toContain(res.status);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    // The generator reaches every answer, not only the happy path.
    expect([...statuses.keys()].sort()).toEqual([200, 206, 304, 412, 416]);
  });
});

describe("the parsers", () => {
  it("reads the three HTTP-date formats and nothing else", () => {
    const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT")).toBe(expected);
    expect(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT")).toBe(expected);
    expect(parseHttpDate("Sun Nov  6 08:49:37 1994")).toBe(expected);
    for (const bad of [
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "1994-11-06T08:49:37Z",
      "Sun, 06 Nov 1994 25:49:37 GMT",
      "Sun, 06 Foo 1994 08:49:37 GMT",
      "784111777",
    ]) {
      expect(parseHttpDate(bad), bad).toBeNull();
    }
  });

  it("reads entity-tag lists, commas inside a tag included", () => {
    expect(parseEntityTags('"a,b", W/"c"')).toEqual([
      { weak: false, opaque: '"a,b"' },
      { weak: true, opaque: '"c"' },
    ]);
    expect(parseEntityTags(" * ")).toBe("*");
    expect(parseEntityTags('"caf\u00e9"')).toEqual([{ weak: false, opaque: '"caf\u00e9"' }]); // obs-text
    expect(parseEntityTags('"a" x')).toBeNull();
  });

  it("reads one byte range and refuses several", () => {
    expect(parseSingleByteRange("bytes=0-")).toEqual({ first: 0, last: null });
    expect(parseSingleByteRange("bytes=-7")).toEqual({ suffix: 7 });
    expect(parseSingleByteRange("bytes=0-1, 3-4")).toBeNull();
    expect(parseSingleByteRange("bytes=+1-2")).toBeNull();
  });
});
