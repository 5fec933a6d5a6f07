// Which URLs may receive webhooks: https, no credentials, and never an address inside a network.
//
// Only IP literals and names can be judged here: Workers have no DNS lookup. A public name that resolves to a
// private address is the platform's to stop (a Worker's fetch cannot reach private networks).
//
// IPv6 literals: only global unicast (2000::/3) outside the IANA special-purpose blocks is allowed, and every
// IPv6 form that carries an IPv4 address (mapped, translated, compatible, NAT64, 6to4, Teredo) is first
// judged by the IPv4 address it carries, so a private or metadata address is refused in every spelling.
import { ApiError } from "../errors";

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "unspecified"
  | "multicast"
  | "reserved"
  | "metadata";

export type UrlVerdict =
  | { ok: true; url: string }
  | { ok: false; code: "webhooks.invalid_url" | "webhooks.blocked_address"; reason: string };

/** `ALLOW_LOOPBACK_WEBHOOKS=true` (local development and tests): http and loopback addresses too. */
export function loopbackAllowed(env: object): boolean {
  return String((env as { ALLOW_LOOPBACK_WEBHOOKS?: string }).ALLOW_LOOPBACK_WEBHOOKS ?? "").toLowerCase() === "true";
}

const METADATA_HOSTNAMES = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.internal",
  "metadata.oraclecloud.com",
  "metadata.tencentyun.com",
  "100-100-100-200.aliyun", // not a real name today; cheap to keep out
]);

// Names that never point at the public internet.
const PRIVATE_SUFFIXES = [".internal", ".local", ".localdomain", ".home.arpa", ".intranet", ".corp", ".lan"];

/** Whether docconv may send webhooks to this URL; the normalized URL when it may. */
export function checkWebhookUrl(raw: string, env: object): UrlVerdict {
  const allowLoopback = loopbackAllowed(env);
  if (raw.length > MAX_WEBHOOK_URL_LENGTH)
    return invalid(`the URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return invalid("not an absolute URL");
  }
  if (url.protocol !== "https:" && !(allowLoopback && url.protocol === "http:")) {
    return invalid(allowLoopback ? "the URL must use https or http" : "the URL must use https");
  }
  if (url.username || url.password)
    return invalid("credentials in the URL are not allowed; sign with the webhook secret instead");
  const host = url.hostname.toLowerCase().replace(/\.+$/, "");
  if (!host) return invalid("the URL has no host");

  const judged = classifyHost(host);
  if ("invalid" in judged) return invalid(judged.invalid);
  if (judged.kind === "public") return { ok: true, url: url.href };
  if (judged.kind === "loopback" && allowLoopback) return { ok: true, url: url.href };
  return blocked(`${host} is ${ARTICLE[judged.kind]} address${judged.why ? ` (${judged.why})` : ""}`);
}

/** Throws the API's error when the URL may not receive webhooks; otherwise the normalized URL. */
export function assertWebhookUrl(raw: string, env: object): string {
  const verdict = checkWebhookUrl(raw, env);
  if (!verdict.ok)
    throw new ApiError(verdict.code, `webhook URL refused: ${verdict.reason}`, { url: raw, reason: verdict.reason });
  return verdict.url;
}

const ARTICLE: Record<Exclude<AddressClass, "public">, string> = {
  loopback: "a loopback",
  private: "a private",
  "link-local": "a link-local",
  unspecified: "an unspecified",
  multicast: "a multicast",
  reserved: "a reserved",
  metadata: "a cloud metadata",
};

function invalid(reason: string): UrlVerdict {
  return { ok: false, code: "webhooks.invalid_url", reason };
}
function blocked(reason: string): UrlVerdict {
  return { ok: false, code: "webhooks.blocked_address", reason };
}

type HostJudgement = { kind: AddressClass; why?: string } | { invalid: string };

function classifyHost(host: string): HostJudgement {
  if (host.startsWith("[")) {
    const bytes = parseIPv6(host.slice(1, -1));
    if (!bytes) return { invalid: "not a valid IPv6 address" };
    return judgeIPv6(bytes);
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) {
    if (v4 === "invalid") return { invalid: "not a valid IPv4 address" };
    return { kind: classifyIPv4(v4) };
  }
  if (METADATA_HOSTNAMES.has(host)) return { kind: "metadata" };
  if (host === "localhost" || host.endsWith(".localhost")) return { kind: "loopback" };
  if (!host.includes(".")) return { kind: "private" }; // a single label only resolves inside a network
  if (PRIVATE_SUFFIXES.some((s) => host.endsWith(s))) return { kind: "private" };
  return { kind: "public" };
}

// ---- IPv4 -------------------------------------------------------------------------------------------------

function ipv4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

const IPV4_METADATA = ipv4(169, 254, 169, 254);

export function dottedQuad(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * An IPv4 literal in any form inet_aton accepts (`127.1`, `2130706433`, `0x7f.0.0.1`, `0177.0.0.1`) as a
 * number; null when the host is not numeric at all (a name). URL parsing already normalizes these; this
 * stays correct if it ever does not.
 */
export function parseIPv4(host: string): number | "invalid" | null {
  const parts = host.split(".");
  if (parts.length > 4 || !parts.every((p) => /^(0x[0-9a-f]*|[0-9]+)$/i.test(p))) {
    // A name whose last label is numeric is an IP literal gone wrong (WHATWG URL rule).
    return /^(0x[0-9a-f]*|[0-9]+)$/i.test(parts[parts.length - 1] ?? "") ? "invalid" : null;
  }
  const values: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0x/i.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (p.length > 1 && p.startsWith("0")) {
      if (!/^[0-7]+$/.test(p)) return "invalid";
      v = parseInt(p, 8);
    } else v = parseInt(p, 10);
    if (!Number.isFinite(v)) return "invalid";
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 256 ** (4 - values.length)) return "invalid";
  let n = 0;
  for (let i = 0; i < values.length; i++) n += values[i]! * 256 ** (3 - i);
  return n + last;
}

function inV4(n: number, base: number, bits: number): boolean {
  const size = 2 ** (32 - bits);
  return n >= base && n < base + size;
}

/** The IANA IPv4 special-purpose blocks that are not globally reachable, by kind. */
export function classifyIPv4(n: number): AddressClass {
  if (n === IPV4_METADATA) return "metadata";
  if (inV4(n, ipv4(0, 0, 0, 0), 8)) return "unspecified"; // 0/8: "this network"
  if (inV4(n, ipv4(127, 0, 0, 0), 8)) return "loopback";
  if (inV4(n, ipv4(10, 0, 0, 0), 8) || inV4(n, ipv4(172, 16, 0, 0), 12) || inV4(n, ipv4(192, 168, 0, 0), 16))
    return "private";
  if (inV4(n, ipv4(100, 64, 0, 0), 10)) return "private"; // carrier-grade NAT
  if (inV4(n, ipv4(169, 254, 0, 0), 16)) return "link-local";
  if (inV4(n, ipv4(224, 0, 0, 0), 4)) return "multicast";
  if (
    inV4(n, ipv4(240, 0, 0, 0), 4) || // reserved, broadcast
    inV4(n, ipv4(192, 0, 0, 0), 24) || // IETF protocol assignments
    inV4(n, ipv4(192, 0, 2, 0), 24) ||
    inV4(n, ipv4(198, 51, 100, 0), 24) ||
    inV4(n, ipv4(203, 0, 113, 0), 24) || // documentation
    inV4(n, ipv4(198, 18, 0, 0), 15) || // benchmarking
    inV4(n, ipv4(192, 88, 99, 0), 24) // 6to4 relay anycast (deprecated)
  ) {
    return "reserved";
  }
  return "public";
}

// ---- IPv6 -------------------------------------------------------------------------------------------------

/** 16 bytes of an IPv6 literal (without brackets), or null. Zone ids are refused. */
export function parseIPv6(text: string): Uint8Array | null {
  if (!text || text.includes("%")) return null;
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = parseDottedQuad(text.slice(lastColon + 1));
    if (!v4) return null;
    tail4 = v4;
    head = `${text.slice(0, lastColon + 1)}0:0`; // placeholder groups, replaced below
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groupsOf = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groupsOf(halves[0]!);
  const right = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (![...left, ...right].every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...left, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...right].map((g) => parseInt(g, 16));
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (tail4.length) bytes.set(tail4, 12);
  return bytes;
}

function parseDottedQuad(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

/** Whether the first `bits` bits of the address equal those of `prefix` (bytes; missing ones are zero). */
function inPrefix(bytes: Uint8Array, prefix: number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit++) {
    const byte = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if ((bytes[byte]! & mask) !== ((prefix[byte] ?? 0) & mask)) return false;
  }
  return true;
}

const v4At = (b: Uint8Array, at: number, xor = 0) =>
  ipv4(b[at]! ^ xor, b[at + 1]! ^ xor, b[at + 2]! ^ xor, b[at + 3]! ^ xor);

/**
 * The IPv4 addresses an IPv6 address carries, with the form's name: IPv4-mapped ::ffff:0:0/96,
 * IPv4-translated ::ffff:0:0:0/96 (RFC 2765), IPv4-compatible ::/96, NAT64 64:ff9b::/96 and the local-use
 * 64:ff9b:1::/48 (RFC 6052 /96 layout), 6to4 2002::/16 (bits 16–47), Teredo 2001::/32 (its server at bits
 * 32–63, its client in the last 32 bits inverted).
 */
export function carriedIPv4(b: Uint8Array): { form: string; addresses: number[] } | null {
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return { form: "IPv4-mapped", addresses: [v4At(b, 12)] };
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12))
    return { form: "IPv4-translated", addresses: [v4At(b, 12)] };
  if (zeros(0, 12)) return { form: "IPv4-compatible", addresses: [v4At(b, 12)] };
  if (inPrefix(b, [0x00, 0x64, 0xff, 0x9b], 96)) return { form: "NAT64", addresses: [v4At(b, 12)] };
  if (inPrefix(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48))
    return { form: "local-use NAT64", addresses: [v4At(b, 12)] };
  if (inPrefix(b, [0x20, 0x02], 16)) return { form: "6to4", addresses: [v4At(b, 2)] };
  if (inPrefix(b, [0x20, 0x01, 0x00, 0x00], 32)) return { form: "Teredo", addresses: [v4At(b, 4), v4At(b, 12, 0xff)] };
  return null;
}

/** The class of an IPv6 address: by the IPv4 address it carries when that is not public, else by its own. */
export function classifyIPv6(b: Uint8Array): AddressClass {
  return judgeIPv6(b).kind;
}

function judgeIPv6(b: Uint8Array): { kind: AddressClass; why?: string } {
  if (b.every((x) => x === 0)) return { kind: "unspecified" };
  if (b.slice(0, 15).every((x) => x === 0) && b[15] === 1) return { kind: "loopback" };
  const carried = carriedIPv4(b);
  if (carried) {
    for (const address of carried.addresses) {
      const kind = classifyIPv4(address);
      if (kind !== "public") return { kind, why: `${carried.form}, carrying ${dottedQuad(address)}` };
    }
  }
  if (inPrefix(b, [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54], 128)) return { kind: "metadata" }; // AWS IMDS over IPv6
  if (inPrefix(b, [0xfc], 7)) return { kind: "private" }; // unique local
  if (inPrefix(b, [0xfe, 0x80], 10)) return { kind: "link-local" };
  if (inPrefix(b, [0xfe, 0xc0], 10)) return { kind: "private" }; // site-local (deprecated)
  if (inPrefix(b, [0xff], 8)) return { kind: "multicast" };
  if (inPrefix(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return { kind: "private", why: "local-use NAT64" };
  if (!inPrefix(b, [0x20], 3)) {
    // Mapped, translated, compatible and NAT64 forms of public IPv4 addresses land here too.
    return {
      kind: "reserved",
      why: carried ? `${carried.form}: write the IPv4 address itself` : "not global unicast 2000::/3",
    };
  }
  // Global unicast minus the IANA special-purpose blocks that are not globally reachable. 6to4 and Teredo
  // addresses whose IPv4 addresses are public pass.
  if (inPrefix(b, [0x20, 0x01, 0x00, 0x00], 32)) return { kind: "public" }; // Teredo, judged above
  if (inPrefix(b, [0x20, 0x01, 0x00, 0x00], 23))
    return { kind: "reserved", why: "IETF protocol assignments: benchmarking, ORCHID, anycast services" };
  if (inPrefix(b, [0x20, 0x01, 0x0d, 0xb8], 32) || inPrefix(b, [0x3f, 0xff], 20))
    return { kind: "reserved", why: "documentation" };
  return { kind: "public" };
}
