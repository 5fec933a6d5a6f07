// The webhook address guard (src/domain/webhook-addresses.ts): which URLs may receive webhooks, in every
// spelling of an address, at registration, at job submission and again at each delivery attempt.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDb } from "../src/db/client";
import { webhookDeliveries } from "../src/db/schema";
import { openServices } from "../src/domain/services";
import {
  carriedIPv4,
  checkWebhookUrl,
  classifyIPv6,
  dottedQuad,
  parseIPv4,
  parseIPv6,
} from "../src/domain/webhook-addresses";
import { prefixedId } from "../src/ids";
import { attemptDelivery } from "../src/queue/webhooks";
import { balance, fixture, parkedJob, seedAccount, submit } from "./harness";

describe("webhook URL safety", () => {
  const strict = {};
  const dev = { ALLOW_LOOPBACK_WEBHOOKS: "true" };

  it.each([
    "https://example.com/hook",
    "https://hooks.example.com:8443/x?y=1",
    "https://93.184.216.34/hook",
    "https://[2606:4700:4700::1111]/hook",
  ])("accepts %s", (url) => {
    expect(checkWebhookUrl(url, strict)).toMatchObject({ ok: true });
  });

  it.each([
    ["http://example.com/hook", "must use https"],
    ["ftp://example.com/hook", "must use https"],
    ["not a url", "not an absolute URL"],
    ["https://user:secret@example.com/hook", "credentials"],
    ["javascript:alert(1)", "must use https"],
    [`https://example.com/${"a".repeat(2100)}`, "longer than"],
  ])("refuses %s as an invalid URL", (url, reason) => {
    const verdict = checkWebhookUrl(url, strict);
    expect(verdict).toMatchObject({ ok: false, code: "webhooks.invalid_url" });
    expect((verdict as { reason: string }).reason).toContain(reason);
  });

  it.each([
    ["https://127.0.0.1/hook", "loopback"],
    ["https://127.8.9.10/hook", "loopback"],
    ["https://localhost/hook", "loopback"],
    ["https://api.localhost/hook", "loopback"],
    ["https://[::1]/hook", "loopback"],
    ["https://2130706433/hook", "loopback"], // decimal 127.0.0.1
    ["https://0x7f000001/hook", "loopback"], // hex
    ["https://0177.0.0.1/hook", "loopback"], // octal
    ["https://0x7f.1/hook", "loopback"], // mixed short form
    ["https://127.1/hook", "loopback"],
    ["https://[::ffff:127.0.0.1]/hook", "loopback"], // IPv4-mapped
    ["https://10.1.2.3/hook", "private"],
    ["https://172.16.0.1/hook", "private"],
    ["https://172.31.255.254/hook", "private"],
    ["https://192.168.1.1/hook", "private"],
    ["https://3232235777/hook", "private"], // decimal 192.168.1.1
    ["https://100.64.0.1/hook", "private"],
    ["https://[fc00::1]/hook", "private"],
    ["https://[fd12:3456::1]/hook", "private"],
    ["https://[::ffff:10.0.0.1]/hook", "private"],
    ["https://[2002:c0a8:101::1]/hook", "private"], // 6to4 of 192.168.1.1
    ["https://intranet/hook", "private"],
    ["https://printer.local/hook", "private"],
    ["https://db.corp.internal/hook", "private"],
    ["https://169.254.1.1/hook", "link-local"],
    ["https://[fe80::1]/hook", "link-local"],
    ["https://0.0.0.0/hook", "unspecified"],
    ["https://[::]/hook", "unspecified"],
    ["https://224.0.0.1/hook", "multicast"],
    ["https://169.254.169.254/latest/meta-data/", "metadata"],
    ["https://0xa9fea9fe/latest/meta-data/", "metadata"], // hex 169.254.169.254
    ["https://[::ffff:169.254.169.254]/", "metadata"],
    ["https://[64:ff9b::a9fe:a9fe]/", "metadata"], // NAT64 of 169.254.169.254
    ["https://[fd00:ec2::254]/", "metadata"],
    ["https://metadata.google.internal/computeMetadata/v1/", "metadata"],
    ["https://metadata/computeMetadata/v1/", "metadata"],
  ])("blocks %s (%s)", (url, kind) => {
    const verdict = checkWebhookUrl(url, strict);
    expect(verdict).toMatchObject({ ok: false, code: "webhooks.blocked_address" });
    expect((verdict as { reason: string }).reason).toContain(kind);
  });

  it("lets local development use http and loopback, and nothing more private", () => {
    for (const url of [
      "http://127.0.0.1:9999/hook",
      "http://localhost:3000/hook",
      "http://[::1]:8080/hook",
      "https://[::ffff:127.0.0.1]/hook",
      "http://example.com/hook",
    ]) {
      expect(checkWebhookUrl(url, dev), url).toMatchObject({ ok: true });
    }
    for (const url of [
      "http://10.0.0.1/hook",
      "http://192.168.0.10/hook",
      "http://169.254.169.254/",
      "http://metadata.google.internal/",
      "http://[fe80::1]/",
      "http://0.0.0.0/",
    ]) {
      expect(checkWebhookUrl(url, dev), url).toMatchObject({ ok: false, code: "webhooks.blocked_address" });
    }
    expect(checkWebhookUrl("ftp://127.0.0.1/hook", dev)).toMatchObject({ ok: false, code: "webhooks.invalid_url" });
  });

  it("reads every IPv4 and IPv6 literal form itself, not only what URL parsing normalizes", () => {
    const dotted = (n: number | "invalid" | null) =>
      typeof n === "number" ? [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".") : n;
    expect(dotted(parseIPv4("0x7f.1"))).toBe("127.0.0.1");
    expect(dotted(parseIPv4("0177.0.0.01"))).toBe("127.0.0.1");
    expect(dotted(parseIPv4("2130706433"))).toBe("127.0.0.1");
    expect(dotted(parseIPv4("10.0x10.1"))).toBe("10.16.0.1");
    expect(parseIPv4("1.2.3.256")).toBe("invalid");
    expect(parseIPv4("08.1.1.1")).toBe("invalid");
    expect(parseIPv4("example.com")).toBeNull();
    expect(classifyIPv6(parseIPv6("::ffff:7f00:1")!)).toBe("loopback");
    expect(classifyIPv6(parseIPv6("0:0:0:0:0:ffff:a9fe:a9fe")!)).toBe("metadata");
    expect(classifyIPv6(parseIPv6("::127.0.0.1")!)).toBe("loopback");
    expect(classifyIPv6(parseIPv6("2606:4700::1111")!)).toBe("public");
    expect(parseIPv6("fe80::1%25eth0")).toBeNull();
    expect(parseIPv6("1::2::3")).toBeNull();
  });

  // 169.254.169.254 (cloud metadata) in every spelling: IPv4 forms the URL parser normalizes, and each IPv6
  // form that carries an IPv4 address, compressed, expanded, uppercase and with an embedded dotted quad.
  it.each([
    "https://169.254.169.254/",
    "https://169.254.169.254./",
    "https://2852039166/",
    "https://0xa9fea9fe/",
    "https://0XA9FEA9FE/",
    "https://0251.0376.0251.0376/",
    "https://169.254.43518/",
    "https://169.16689662/",
    "https://0xa9.254.0251.0xfe/",
    "https://\uff11\uff16\uff19\uff0e\uff12\uff15\uff14\uff0e\uff11\uff16\uff19\uff0e\uff12\uff15\uff14/", // fullwidth digits and dots
    "https://[::ffff:169.254.169.254]/", // IPv4-mapped
    "https://[::ffff:a9fe:a9fe]/",
    "https://[0:0:0:0:0:ffff:a9fe:a9fe]/",
    "https://[0000:0000:0000:0000:0000:FFFF:A9FE:A9FE]/",
    "https://[::ffff:0:169.254.169.254]/", // IPv4-translated
    "https://[::ffff:0:a9fe:a9fe]/",
    "https://[0:0:0:0:ffff:0:a9fe:a9fe]/",
    "https://[::FFFF:0:A9FE:A9FE]/",
    "https://[::169.254.169.254]/", // IPv4-compatible
    "https://[::a9fe:a9fe]/",
    "https://[64:ff9b::169.254.169.254]/", // NAT64
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://[0064:FF9B:0000:0000:0000:0000:A9FE:A9FE]/",
    "https://[64:ff9b:1::a9fe:a9fe]/", // local-use NAT64
    "https://[64:ff9b:1:0:0:0:169.254.169.254]/",
    "https://[2002:a9fe:a9fe::]/", // 6to4
    "https://[2002:a9fe:a9fe:0:0:0:0:1]/",
    "https://[2001:0:4136:e378:8000:63bf:5601:5601]/", // Teredo client (inverted)
    "https://[2001::4136:e378:8000:63bf:5601:5601]/",
    "https://[2001:0:a9fe:a9fe::a3a3:a3a3]/", // Teredo server
    "https://[fd00:ec2::254]/", // AWS's IPv6 metadata address
    "https://[FD00:EC2::254]/",
    "https://[fd00:0ec2:0000:0000:0000:0000:0000:0254]/",
    "https://[fd00:ec2:0:0:0:0:0:254]/",
    "https://[fd00:ec2::0.0.2.84]/",
  ])("blocks the metadata address as %s", (url) => {
    const verdict = checkWebhookUrl(url, strict);
    expect(verdict).toMatchObject({ ok: false, code: "webhooks.blocked_address" });
    expect((verdict as { reason: string }).reason).toContain("cloud metadata");
    // Local development opens loopback only, never the metadata address.
    expect(checkWebhookUrl(url, dev)).toMatchObject({ ok: false, code: "webhooks.blocked_address" });
  });

  it.each([
    ["https://[::ffff:0:10.0.0.1]/", "private", "IPv4-translated, carrying 10.0.0.1"],
    ["https://[::ffff:0:7f00:1]/", "loopback", "IPv4-translated, carrying 127.0.0.1"],
    ["https://[::ffff:0:c0a8:101]/", "private", "192.168.1.1"],
    ["https://[::10.0.0.1]/", "private", "IPv4-compatible"],
    ["https://[64:ff9b::7f00:1]/", "loopback", "NAT64"],
    ["https://[64:ff9b:1::a00:1]/", "private", "local-use NAT64"],
    ["https://[64:ff9b:1::5db8:d822]/", "private", "local-use NAT64"], // the whole /48 is local, whatever it carries
    ["https://[2002:7f00:1::]/", "loopback", "6to4, carrying 127.0.0.1"],
    ["https://[2002:a00:1::1]/", "private", "6to4"],
    ["https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "loopback", "Teredo, carrying 127.0.0.1"],
    ["https://[2001:0:a00:1::5c5c:5c5c]/", "private", "Teredo, carrying 10.0.0.1"],
    ["https://[::ffff:0:e000:1]/", "multicast", "224.0.0.1"],
    ["https://[2002:c000:201::]/", "reserved", "192.0.2.1"],
  ])("judges %s by the IPv4 address it carries (%s)", (url, kind, why) => {
    const verdict = checkWebhookUrl(url, strict);
    expect(verdict).toMatchObject({ ok: false, code: "webhooks.blocked_address" });
    expect((verdict as { reason: string }).reason).toContain(kind);
    expect((verdict as { reason: string }).reason).toContain(why);
  });

  it.each([
    ["https://[::ffff:93.184.216.34]/", "write the IPv4 address itself"], // mapped, translated, compatible and NAT64
    ["https://[::ffff:0:5db8:d822]/", "write the IPv4 address itself"], // forms of a public address are not
    ["https://[::5db8:d822]/", "write the IPv4 address itself"], // global unicast: refused, with the hint
    ["https://[64:ff9b::5db8:d822]/", "write the IPv4 address itself"],
    ["https://[100::1]/", "not global unicast"], // discard-only
    ["https://[4000::1]/", "not global unicast"],
    ["https://[2001:db8::1]/", "documentation"],
    ["https://[3fff::1]/", "documentation"],
    ["https://[2001:2::1]/", "IETF protocol assignments"], // benchmarking
    ["https://[2001:10::1]/", "IETF protocol assignments"], // ORCHID
    ["https://[2001:20::1]/", "IETF protocol assignments"], // ORCHIDv2
    ["https://[2001:1::1]/", "IETF protocol assignments"], // PCP anycast
    ["https://[5f00::1]/", "not global unicast"], // segment routing SIDs
  ])("allows only global unicast IPv6: refuses %s", (url, why) => {
    const verdict = checkWebhookUrl(url, strict);
    expect(verdict).toMatchObject({ ok: false, code: "webhooks.blocked_address" });
    expect((verdict as { reason: string }).reason).toContain("reserved");
    expect((verdict as { reason: string }).reason).toContain(why);
  });

  it.each([
    "https://[2606:4700:4700::1111]/",
    "https://[2606:4700:4700:0:0:0:0:1111]/",
    "https://[2002:5db8:d822::1]/", // 6to4 of 93.184.216.34
    "https://[2001:0:4136:e378:8000:63bf:a2b7:27dd]/", // Teredo: server 65.54.227.120, client 93.72.216.34
  ])("accepts the global unicast address %s", (url) => {
    expect(checkWebhookUrl(url, strict)).toMatchObject({ ok: true });
  });

  it("finds the IPv4 address in each form, Teredo's client inverted", () => {
    const carried = (text: string) => {
      const found = carriedIPv4(parseIPv6(text)!);
      return found && { form: found.form, addresses: found.addresses.map(dottedQuad) };
    };
    expect(carried("::ffff:1.2.3.4")).toEqual({ form: "IPv4-mapped", addresses: ["1.2.3.4"] });
    expect(carried("::ffff:0:1.2.3.4")).toEqual({ form: "IPv4-translated", addresses: ["1.2.3.4"] });
    expect(carried("::1.2.3.4")).toEqual({ form: "IPv4-compatible", addresses: ["1.2.3.4"] });
    expect(carried("64:ff9b::1.2.3.4")).toEqual({ form: "NAT64", addresses: ["1.2.3.4"] });
    expect(carried("64:ff9b:1::1.2.3.4")).toEqual({ form: "local-use NAT64", addresses: ["1.2.3.4"] });
    expect(carried("2002:102:304::")).toEqual({ form: "6to4", addresses: ["1.2.3.4"] });
    // RFC 4380's example: server 65.54.227.120, client 192.0.2.45 (stored as 3fff:fdd2).
    expect(carried("2001:0:4136:e378:8000:63bf:3fff:fdd2")).toEqual({
      form: "Teredo",
      addresses: ["65.54.227.120", "192.0.2.45"],
    });
    expect(carried("2606:4700::1111")).toBeNull();
  });
});

describe("where the guard applies", () => {
  it.each([
    ["https://10.0.0.5/hook", "webhooks.blocked_address"],
    ["https://169.254.169.254/latest/meta-data/", "webhooks.blocked_address"],
    ["https://[::ffff:192.168.0.1]/hook", "webhooks.blocked_address"],
    ["https://metadata.google.internal/", "webhooks.blocked_address"],
    ["http://3232235777/hook", "webhooks.blocked_address"],
    ["ftp://example.com/hook", "webhooks.invalid_url"],
    ["hooks.example.com/docconv", "webhooks.invalid_url"],
  ])("refuses to register %s (%s)", async (url, code) => {
    const account = await seedAccount();
    const res = await account.json("/v1/webhooks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url }),
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: code, type: "invalid_request", url });
    expect((await account.json("/v1/webhooks")).body.data).toEqual([]);
  });

  it("refuses a job whose webhookUrl is blocked or invalid before charging, for single and batch submissions", async () => {
    const account = await seedAccount({ credits: 100 });
    const docx = { name: "letter.docx", bytes: fixture("docx-header-footer.docx") };
    const blocked = await submit(account, {
      file: docx,
      targetFormat: "txt",
      webhookUrl: "https://169.254.169.254/latest/meta-data/",
    });
    expect(blocked.status).toBe(400);
    expect(blocked.body).toMatchObject({ error: "webhooks.blocked_address", type: "invalid_request" });
    const invalid = await submit(account, { file: docx, targetFormat: "txt", webhookUrl: "not a url" });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toBe("webhooks.invalid_url");
    const json = await account.json("/v1/convert", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fileId: "file_doesnotmatter", targetFormat: "txt", webhookUrl: "https://[fd00::1]/hook" }),
    });
    expect(json.status).toBe(400);
    expect(json.body.error).toBe("webhooks.blocked_address");
    const fd = new FormData();
    fd.append("files", new File([docx.bytes], docx.name));
    fd.set("targetFormat", "txt");
    fd.set("webhookUrl", "https://192.168.1.20/hook");
    const batch = await account.json("/v1/convert/batch", { method: "POST", body: fd });
    expect(batch.status).toBe(400);
    expect(batch.body.error).toBe("webhooks.blocked_address");

    expect((await balance(account.accountId)).credits).toBe(100);
    expect((await account.json("/v1/convert/jobs")).body.data).toEqual([]);
  });

  it.each([
    "https://[::ffff:0:a9fe:a9fe]/latest/meta-data/",
    "https://[::ffff:0:169.254.169.254]/",
    "https://[64:ff9b:1::a9fe:a9fe]/",
    "https://[2001:0:4136:e378:8000:63bf:5601:5601]/",
    "https://[fd00:ec2::254]/",
  ])("refuses to register and to submit a job for %s", async (url) => {
    const account = await seedAccount({ credits: 100 });
    const registered = await account.json("/v1/webhooks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url }),
    });
    expect(registered.status).toBe(400);
    expect(registered.body).toMatchObject({ error: "webhooks.blocked_address", url });
    const docx = { name: "letter.docx", bytes: fixture("docx-header-footer.docx") };
    const job = await submit(account, { file: docx, targetFormat: "txt", webhookUrl: url });
    expect(job.status).toBe(400);
    expect(job.body).toMatchObject({ error: "webhooks.blocked_address", url });
    expect((await balance(account.accountId)).credits).toBe(100);
    expect((await account.json("/v1/webhooks")).body.data).toEqual([]);
  });

  it("judges the URL again at each delivery attempt: a stored blocked URL fails without a request", async () => {
    const account = await seedAccount();
    const jobId = await parkedJob(account, "Queued");
    const id = prefixedId("dlv");
    const url = "https://[::ffff:0:a9fe:a9fe]/latest/meta-data/";
    await openDb(env.DB)
      .insert(webhookDeliveries)
      .values({
        id,
        accountId: account.accountId,
        eventId: prefixedId("evt"),
        eventType: "job.succeeded",
        jobId,
        endpointId: null,
        url,
        status: "pending",
        attempts: 0,
        nextAttemptAt: Date.now(),
        createdAt: Date.now(),
      });
    expect(await attemptDelivery(openServices(env), id, 1)).toEqual({ kind: "done" });
    const delivery = (await account.json(`/v1/webhooks/deliveries/${id}`)).body;
    expect(delivery).toMatchObject({ status: "failed", url });
    expect(delivery.lastError).toContain("webhook URL refused");
    expect(delivery.lastError).toContain("cloud metadata");
    expect(delivery.attempts).toEqual([]);
  });
});
