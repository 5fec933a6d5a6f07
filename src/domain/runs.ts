// Runs (any conversion job of the account) as sources of exports: a run's output is registered once as a file
// of its account, so exporting a run is that file's cached rendition (renditions.ts).
import { type Caller, ownedOr404 } from "../auth/scope";
import { type FileRow, findFile } from "../db/files";
import { findJob } from "../db/jobs";
import { registerRunOutputFile } from "../db/renditions";
import { ApiError } from "../errors";
import { isUuidV7 } from "../ids";
import { hasLiveOutput } from "./jobs";
import { countedUnitOf } from "./pricing";
import type { Services } from "./services";

/** The run's output as a file this caller may convert, registering it on the first export. */
export async function runOutputFile(svc: Services, caller: Caller, runId: string): Promise<FileRow> {
  const run = ownedOr404(isUuidV7(runId) ? await findJob(svc.db, runId) : undefined, caller, "runs.not_found", "run");
  if (run.status !== "Succeeded") {
    throw new ApiError("runs.not_succeeded", `the run is ${run.status}; only a Succeeded run can be exported`, {
      status: run.status,
      status_url: `/v1/convert/job/${run.id}`,
    });
  }
  if ((run.outputFileCount ?? 1) > 1) {
    throw new ApiError(
      "runs.multi_file_output",
      `the run's output is a ZIP of ${run.outputFileCount} files; only a single-file output can be exported`,
      { fileCount: run.outputFileCount },
    );
  }
  if (!hasLiveOutput(run)) {
    throw new ApiError("runs.output_expired", "the run's output is no longer stored; convert the original again", {
      status_url: `/v1/convert/job/${run.id}`,
    });
  }
  // The converter counted the output's pages itself (X-Output-Pages): exact, so a page-priced export of it
  // is priced on that count. Formats without an exact count keep none.
  const pages = countedUnitOf(run.targetFormat) ? run.outputPages : null;
  const fileId = await registerRunOutputFile(svc.d1, run, pages, Date.now());
  return (await findFile(svc.db, fileId))!;
}
