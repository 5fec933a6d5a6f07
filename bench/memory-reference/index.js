// The floor under bench/memory.ts: what the local workerd itself costs to receive a large request body (read
// with a default reader, read into a reused buffer), to write it to (local) R2 in 5 MiB parts, and to move it
// as scenario (a) does, in a Worker that does nothing else. bench/memory.ts runs it after docconv's stack.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const mode = url.searchParams.get("mode");
    if (request.method !== "POST") return new Response("ok");
    if (mode === "byob") {
      let bytes = 0;
      for await (const chunk of reusedBufferChunks(request.body)) bytes += chunk.length;
      return new Response(String(bytes));
    }
    if (mode === "read") {
      const reader = request.body.getReader();
      let bytes = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
      return new Response(String(bytes));
    }
    const key = `reference-${crypto.randomUUID()}`;
    const bytes = await storeInParts(request.body, env.BUCKET, key);
    if (mode === "r2") return new Response(String(bytes));
    // mode=cycle: scenario (a)'s R2 traffic in one request. The stored body streamed back out to `sink` (as the
    // queue consumer sends it to the converter), the sink's answer stored with its length (as the output is),
    // and that object streamed back as the response (the download).
    const input = await env.BUCKET.get(key);
    const converted = await fetch(url.searchParams.get("sink"), {
      method: "POST",
      body: input.body,
      headers: { "content-length": String(input.size) },
    });
    const sized = new FixedLengthStream(Number(converted.headers.get("content-length")));
    await Promise.all([env.BUCKET.put(`${key}.out`, sized.readable), converted.body.pipeTo(sized.writable)]);
    const output = await env.BUCKET.get(`${key}.out`);
    return new Response(output.body, { headers: { "content-length": String(output.size) } });
  },
};

/** Read as docconv reads (reused buffers), written in the 5 MiB parts docconv writes (src/storage/r2.ts). */
async function storeInParts(body, bucket, key) {
  const PART = 5 * 1024 * 1024;
  const buffer = new Uint8Array(PART);
  const parts = [];
  let upload = null;
  let filled = 0;
  let bytes = 0;
  for await (const value of reusedBufferChunks(body)) {
    bytes += value.length;
    for (let at = 0; at < value.length; ) {
      if (filled === PART) {
        upload ??= await bucket.createMultipartUpload(key);
        parts.push(await upload.uploadPart(parts.length + 1, buffer));
        filled = 0;
      }
      const take = Math.min(PART - filled, value.length - at);
      buffer.set(value.subarray(at, at + take), filled);
      filled += take;
      at += take;
    }
  }
  if (upload) {
    parts.push(await upload.uploadPart(parts.length + 1, buffer.subarray(0, filled)));
    await upload.complete(parts);
  } else await bucket.put(key, buffer.subarray(0, filled));
  return bytes;
}

/** The body read into one reused 64 KiB buffer (as src/routes/upload-form.ts reads): nothing allocated per chunk. */
async function* reusedBufferChunks(body) {
  const reader = body.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(64 * 1024);
  for (;;) {
    const { done, value } = await reader.read(new Uint8Array(buffer));
    if (done) return;
    yield value;
    buffer = value.buffer;
  }
}
