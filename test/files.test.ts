import { describe, expect, it } from "vitest";
import { fixture, form, seedAccount, upload } from "./harness";

describe("POST /v1/files", () => {
  it("stores an upload and detects its format from the bytes", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: "report.docx", bytes: fixture("docx-header-footer.docx") }, purpose: "archive" }),
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      filename: "report.docx",
      source_format: "docx",
      purpose: "archive",
      bytes: fixture("docx-header-footer.docx").length,
    });
    expect(res.body.file_id).toMatch(/^file_/);
    expect(Date.parse(res.body.created_at)).not.toBeNaN();
    const again = await account.json(`/v1/files/${res.body.file_id}`);
    expect(again.status).toBe(200);
    expect(again.body.file_id).toBe(res.body.file_id);
  });

  it("detects the real format when the extension is wrong", async () => {
    const account = await seedAccount();
    const body = await upload(account, "misnamed.pdf", fixture("xlsx-simple.xlsx"));
    expect(body.source_format).toBe("xlsx");
  });

  it.each([
    ["pptx-slides.pptx", "pptx"],
    ["xlsx-simple.xlsx", "xlsx"],
    ["hostile-password-protected.odt", "odt"],
  ])("detects %s as %s", async (name, format) => {
    const account = await seedAccount();
    expect((await upload(account, name)).source_format).toBe(format);
  });

  it("refuses an empty file with request.empty_file", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: "empty.docx", bytes: new Uint8Array() } }),
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: "invalid_request", code: "request.empty_file" });
  });

  it("refuses an image named .docx with request.format_mismatch", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: "photo.docx", bytes: fixture("hostile-image-named-as.docx") } }),
    });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({
      error: "unsupported_media_type",
      code: "request.format_mismatch",
      detectedFormat: "png",
    });
  });

  it("refuses text named .xlsx with request.format_mismatch", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: "sheet.xlsx", bytes: fixture("hostile-text-named-as.xlsx") } }),
    });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe("request.format_mismatch");
  });

  it("refuses a truncated docx with convert.corrupt_input before storing it", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", {
      method: "POST",
      body: form({ file: { name: "broken.docx", bytes: fixture("hostile-truncated.docx") } }),
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("convert.corrupt_input");
  });

  it("requires the file field", async () => {
    const account = await seedAccount();
    const res = await account.json("/v1/files", { method: "POST", body: form({ purpose: "x" }) });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("request.missing_file");
  });
});

describe("scope gating", () => {
  it("answers 404 for another user's file", async () => {
    const owner = await seedAccount();
    const stranger = await seedAccount();
    const { file_id } = await upload(owner, "docx-header-footer.docx");
    const res = await stranger.json(`/v1/files/${file_id}`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("files.not_found");
  });

  it("keeps a user's personal files apart from their workspace's", async () => {
    const personal = await seedAccount({ user: "ada" });
    const workspace = await seedAccount({ user: "ada", workspace: "acme" });
    const teammate = await seedAccount({ user: "grace", workspace: "acme" });
    const mine = await upload(personal, "docx-header-footer.docx");
    const shared = await upload(workspace, "xlsx-simple.xlsx");
    expect((await workspace.json(`/v1/files/${mine.file_id}`)).status).toBe(404);
    expect((await personal.json(`/v1/files/${shared.file_id}`)).status).toBe(404);
    expect((await teammate.json(`/v1/files/${shared.file_id}`)).status).toBe(200);
  });
});
