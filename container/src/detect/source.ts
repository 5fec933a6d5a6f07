// The bytes a detector may look at: bounded ranges of a file it never holds whole. A ByteSource is a file on
// the converter's disk, an upload's kept head and tail plus R2 range reads in the Worker, or bytes in memory.

export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `offset` (fewer only at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Optional: the range as a stream, for long sequential reads (one request instead of many). */
  stream?(offset: number, length: number): ReadableStream<Uint8Array>;
  /**
   * Optional: how many reads (blocks fetched, streams opened) one detection may make, for a source where each is
   * a request (R2 range reads in the Worker: subrequests, and wall time); past it the file is refused as corrupt.
   */
  readonly maxReads?: number;
}

/** What a detection cost: bytes read from the source and bytes inflated from zip entries or PDF streams. */
export interface Work {
  read: number;
  inflated: number;
}

export class DetectError extends Error {
  readonly reason: "corrupt" | "zip_bomb" | "entity_expansion" | "password_protected" | "unsupported";
  constructor(reason: DetectError["reason"], detail: string) {
    super(detail);
    this.reason = reason;
  }
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (offset, length) =>
      bytes.subarray(Math.max(0, offset), Math.max(0, Math.min(bytes.length, offset + length))),
  };
}

/**
 * A source with known ranges served from memory (an upload's head and tail) before asking `inner`.
 * Only reads that fall wholly inside a known range are served from it.
 */
export function withKnownRanges(
  inner: ByteSource,
  ranges: readonly { offset: number; bytes: Uint8Array }[],
): ByteSource {
  return {
    size: inner.size,
    async read(offset, length) {
      const end = Math.min(inner.size, offset + length);
      for (const r of ranges) {
        if (offset >= r.offset && end <= r.offset + r.bytes.length)
          return r.bytes.subarray(offset - r.offset, end - r.offset);
      }
      return inner.read(offset, length);
    },
    stream: inner.stream?.bind(inner),
    ...(inner.maxReads !== undefined ? { maxReads: inner.maxReads } : {}),
  };
}

const BLOCK = 64 * 1024;
const MAX_BLOCKS = 16;

/**
 * The detector's view of a source: aligned 64 KiB blocks with a small cache (at most 1 MiB held), so the many
 * small reads of a parser cost few reads of the source; every byte fetched is counted in `work.read`.
 */
export class Reader {
  readonly size: number;
  readonly work: Work = { read: 0, inflated: 0 };
  private readonly source: ByteSource;
  private sourceReads = 0;
  private readonly blocks = new Map<number, Uint8Array>();

  constructor(source: ByteSource) {
    this.source = source;
    this.size = source.size;
  }

  /** Up to `length` bytes at `offset`, clipped to the file. Reads longer than 1 MiB are refused (a bug, not input). */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const start = Math.max(0, Math.min(offset, this.size));
    const end = Math.max(start, Math.min(this.size, offset + length));
    if (end - start > MAX_BLOCKS * BLOCK) throw new Error(`read of ${end - start} bytes exceeds the reader's window`);
    const first = Math.floor(start / BLOCK);
    const last = Math.floor((end - 1) / BLOCK);
    if (end === start) return new Uint8Array(0);
    if (first === last) {
      const block = await this.block(first);
      return block.subarray(start - first * BLOCK, end - first * BLOCK);
    }
    const out = new Uint8Array(end - start);
    for (let b = first; b <= last; b++) {
      const block = await this.block(b);
      const from = Math.max(start, b * BLOCK);
      const to = Math.min(end, b * BLOCK + block.length);
      out.set(block.subarray(from - b * BLOCK, to - b * BLOCK), from - start);
    }
    return out;
  }

  /**
   * The range as a stream of chunks, for inflating; counted like reads. A range within one block comes through
   * the block cache (a package's small parts share a few blocks: one source read each, not one per part);
   * longer ones stream past it, never cached.
   */
  stream(offset: number, length: number): ReadableStream<Uint8Array> {
    const end = Math.min(this.size, offset + length);
    if (end - offset <= BLOCK) {
      return new ReadableStream<Uint8Array>(
        {
          pull: async (controller) => {
            const chunk = await this.read(offset, end - offset);
            if (chunk.length) controller.enqueue(chunk);
            controller.close();
          },
        },
        { highWaterMark: 0 },
      );
    }
    this.countSourceRead();
    const work = this.work;
    if (this.source.stream) {
      const counter = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          work.read += chunk.length;
          controller.enqueue(chunk);
        },
      });
      return this.source.stream(offset, Math.max(0, end - offset)).pipeThrough(counter);
    }
    let position = offset;
    const source = this.source;
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          if (position >= end) return controller.close();
          const chunk = await source.read(position, Math.min(BLOCK, end - position));
          if (chunk.length === 0) return controller.close();
          work.read += chunk.length;
          position += chunk.length;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
  }

  private countSourceRead(): void {
    const max = this.source.maxReads;
    if (max !== undefined && ++this.sourceReads > max)
      throw new DetectError(
        "corrupt",
        `the file's structure is scattered over more than ${max} reads, more than any real document needs`,
      );
  }

  private async block(index: number): Promise<Uint8Array> {
    const cached = this.blocks.get(index);
    if (cached) {
      // Most recently used last.
      this.blocks.delete(index);
      this.blocks.set(index, cached);
      return cached;
    }
    const offset = index * BLOCK;
    this.countSourceRead();
    const bytes = await this.source.read(offset, Math.min(BLOCK, this.size - offset));
    this.work.read += bytes.length;
    if (this.blocks.size >= MAX_BLOCKS) this.blocks.delete(this.blocks.keys().next().value!);
    this.blocks.set(index, bytes);
    return bytes;
  }
}

/** Index of `needle` in `haystack` from `from`, or -1: a plain scan, linear in practice for our short needles. */
export function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (let i = Math.max(0, from); i <= last; i++) {
    if (haystack[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Last index of `needle` in `haystack`, or -1. */
export function lastIndexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  outer: for (let i = haystack.length - needle.length; i >= 0; i--) {
    if (haystack[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

export const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

export function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let s = "";
  for (let i = start; i < Math.min(end, bytes.length); i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/**
 * Inflates a stream (deflate-raw for zip entries, deflate for PDF streams) chunk by chunk, handing each
 * chunk to `onChunk`; stops at `maxBytes` of output without inflating further. Returns the bytes inflated,
 * or "limit" when the cap was reached. Throws DetectError("corrupt") on bad compressed data.
 */
export async function inflate(
  compressed: ReadableStream<Uint8Array>,
  format: "deflate" | "deflate-raw" | "gzip",
  maxBytes: number,
  work: Work,
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback that returns nothing or asks to stop
  onChunk?: (chunk: Uint8Array) => void | "stop",
): Promise<number | "limit" | "stopped"> {
  const reader = compressed
    .pipeThrough(new DecompressionStream(format) as unknown as TransformStream<Uint8Array, Uint8Array>)
    .getReader();
  let total = 0;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        throw new DetectError("corrupt", `compressed data is damaged (${(error as Error).message})`);
      }
      if (result.done) return total;
      const chunk = result.value;
      if (total + chunk.length > maxBytes) {
        const room = maxBytes - total;
        total = maxBytes;
        work.inflated += room;
        if (room > 0 && onChunk) onChunk(chunk.subarray(0, room));
        return "limit";
      }
      total += chunk.length;
      work.inflated += chunk.length;
      if (onChunk && onChunk(chunk) === "stop") return "stopped";
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
