// npm run key -- [--credits N] [--workspace NAME] [--plan free|pro] [--user NAME] [--persist-to DIR] [--remote]
// Creates (or reuses) an account in the local D1 and prints a new API key as the last line.
// --remote: in the deployed D1 instead (wrangler's login), with an sk_live_ key.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { accountIdFor, provisionStatements } from "../src/db/provision.ts";
import { sha256Hex } from "../src/digests.ts";

const { values } = parseArgs({
  options: {
    credits: { type: "string" },
    workspace: { type: "string" },
    plan: { type: "string" },
    user: { type: "string", default: "local" },
    // The local state of a stack started with `wrangler dev --persist-to DIR` (the e2e tests' own stack).
    "persist-to": { type: "string" },
    remote: { type: "boolean" },
  },
});
if (values.plan && values.plan !== "free" && values.plan !== "pro") throw new Error("--plan is free or pro");
const credits = values.credits === undefined ? undefined : Number(values.credits);
if (credits !== undefined && (!Number.isInteger(credits) || credits < 0))
  throw new Error("--credits is a whole number ≥ 0");

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = (n: number) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => ALPHABET[b % 62]).join("");
const key = `${values.remote ? "sk_live_" : "sk_test_"}${token(32)}`;
const hash = await sha256Hex(key);
const userId = await accountIdFor("usr", values.user!);
const workspaceId = values.workspace ? await accountIdFor("wks", values.workspace) : undefined;

const statements = provisionStatements({
  userName: values.user!,
  workspaceName: values.workspace,
  plan: values.plan as "free" | "pro" | undefined,
  credits,
  keyId: `key_${token(20)}`,
  keyHash: hash,
  keyPrefix: key.slice(0, 12),
  userId,
  workspaceId,
  now: Date.now(),
});
const dir = mkdtempSync(join(tmpdir(), "docconv-key-"));
try {
  const file = join(dir, "provision.sql");
  writeFileSync(file, `${statements.join(";\n")};\n`);
  execFileSync(
    process.execPath,
    [
      "node_modules/wrangler/bin/wrangler.js",
      "d1",
      "execute",
      "DB",
      values.remote ? "--remote" : "--local",
      "--file",
      file,
      ...(values["persist-to"] ? ["--persist-to", values["persist-to"]] : []),
    ],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    },
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `account: ${workspaceId ?? userId} (${workspaceId ? `workspace ${values.workspace}` : `user ${values.user}`}), scope ${workspaceId ? "workspace" : "personal"}`,
);
console.log(key);
