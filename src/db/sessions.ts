// D1 Sessions (read replication): reads go to any replica at least as fresh as the caller's bookmark, writes
// to the primary; the bookmark a response carries gives the caller read-your-writes on its next request.
// Local D1 (wrangler dev, tests) implements the same API with a single database behind it.

// D1 bookmarks look like `00000000-00000003-00000000-<32 hex>`; anything else is ignored, not trusted.
const BOOKMARK_RE = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/** A read session: as fresh as the caller's bookmark when it sent one, else whatever replica is nearest. */
export function readSession(d1: D1Database, bookmark: string | null | undefined): D1DatabaseSession {
  return d1.withSession(bookmark && BOOKMARK_RE.test(bookmark) ? bookmark : "first-unconstrained");
}

/** A session whose first query goes to the primary: for paths that write, and reads that must not be stale. */
export function primarySession(d1: D1Database): D1DatabaseSession {
  return d1.withSession("first-primary");
}
