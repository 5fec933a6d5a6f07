// Files as a caller sees them: only its own account's, anything else not found.
import { type Caller, ownedOr404 } from "../auth/scope";
import { type FileRow, findFile } from "../db/files";
import type { Services } from "./services";

export type { FileRow };

export async function visibleFile(svc: Services, caller: Caller, id: string): Promise<FileRow> {
  return ownedOr404(await findFile(svc.db, id), caller, "files.not_found", "file");
}

export function fileResponse(row: FileRow) {
  return {
    file_id: row.id,
    filename: row.filename,
    bytes: row.bytes,
    source_format: row.sourceFormat,
    purpose: row.purpose,
    pages: row.pages,
    created_at: new Date(row.createdAt).toISOString(),
  };
}
