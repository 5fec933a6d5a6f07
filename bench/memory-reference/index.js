// The floor under bench/memory.ts: what the local workerd itself costs to receive a large request body (read
// with a default reader, read into a reused buffer) and to write it to (local) R2 in 5 MiB parts, in a Worker
// that does nothing else. bench/memory.ts runs it after docconv's stack.
export default {
  async fetch(request, env) {
    const mode = new URL(request.url).searchParams.get("mode");
    if (request.method !== "POST") return new Response("ok");
    let bytes = 0;
    if (mode === "byob") {
      // Reused buffers (as src/routes/upload-form.ts reads): nothing allocated per chunk.
      const byob = request.body.getReader({ mode: "byob" });
      let buffer = new ArrayBuffer(64 * 1024);
      for (;;) {
        const { done, value } = await byob.read(new Uint8Array(buffer));
        if (value) buffer = value.buffer;
        if (done) break;
        bytes += value.length;
      }
      return new Response(String(bytes));
    }
    if (mode === "read") {
      const reader = request.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
      return new Response(String(bytes));
    }
    // mode=r2: read as docconv reads (reused buffers), written in the 5 MiB parts docconv writes (src/storage/r2.ts).
    const reader = request.body.getReader({ mode: "byob" });
    let chunkBuffer = new ArrayBuffer(64 * 1024);
    const PART = 5 * 1024 * 1024;
    const buffer = new Uint8Array(PART);
    const key = `reference-${crypto.randomUUID()}`;
    const parts = [];
    let upload = null;
    let filled = 0;
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(chunkBuffer));
      if (value) chunkBuffer = value.buffer;
      if (done) break;
      bytes += value.length;
      for (let at = 0; at < value.length; ) {
        if (filled === PART) {
          upload ??= await env.BUCKET.createMultipartUpload(key);
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
    } else await env.BUCKET.put(key, buffer.subarray(0, filled));
    return new Response(String(bytes));
  },
};
