// Job ids: UUIDv7, monotonic within this isolate (RFC 9562 §6.2, a counter in rand_a).
import { describe, expect, it } from "vitest";
import { isUuidV7, uuidv7 } from "../src/ids";

/** The 48-bit timestamp an id carries, read independently of the generator. */
const msOf = (id: string) => parseInt(id.replace(/-/g, "").slice(0, 12), 16);

describe("uuidv7", () => {
  it("orders ids made in one millisecond as they were made, past the counter's room", async () => {
    const now = Date.now() + 60_000;
    const ids = Array.from({ length: 5000 }, () => uuidv7(now));
    expect(ids.every(isUuidV7)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // 5000 ids do not fit one millisecond's counter: the timestamp moved on, by little.
    expect(msOf(ids[0]!)).toBe(now);
    expect(msOf(ids.at(-1)!) - now).toBeGreaterThan(0);
    expect(msOf(ids.at(-1)!) - now).toBeLessThan(5);
  });

  it("never goes backwards when the clock does", () => {
    const later = uuidv7(Date.now() + 120_000);
    const earlier = uuidv7(Date.now());
    expect(earlier > later).toBe(true);
  });
});
