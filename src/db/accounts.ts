import { eq } from "drizzle-orm";
import type { Db } from "./client";
import { accounts } from "./schema";

export type AccountRow = typeof accounts.$inferSelect;

export async function getAccount(db: Db, id: string): Promise<AccountRow> {
  const row = await db.query.accounts.findFirst({ where: eq(accounts.id, id) });
  if (!row) throw new Error(`account ${id} missing`);
  return row;
}
