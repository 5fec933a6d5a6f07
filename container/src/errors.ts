// Every error a caller of the converter sees: a machine code, its HTTP status, a human detail.

export type ErrorCode =
  | "convert.password_protected"
  | "convert.corrupt_input"
  | "convert.zip_bomb"
  | "convert.entity_expansion"
  | "convert.timeout"
  | "convert.unsupported_format_pair"
  | "convert.invalid_option"
  | "convert.empty_input"
  | "convert.input_too_large"
  | "convert.busy"
  | "convert.engine_failure"
  | "convert.engine_crash_on_input"
  | "convert.resource_limit"
  | "convert.too_many_pages"
  | "convert.unauthorized"
  | "convert.not_found";

export const statusOf: Record<ErrorCode, number> = {
  "convert.password_protected": 422,
  "convert.corrupt_input": 422,
  // The archive inflated past the cap when every entry was inflated with a byte counter (container/src/detect/zip.ts).
  "convert.zip_bomb": 422,
  // A markup document's entities expand past the budget, nest too deep, loop, or are parameter or external
  // entities (container/src/detect/entities.ts): refused before LibreOffice parses it.
  "convert.entity_expansion": 422,
  "convert.timeout": 504,
  "convert.unsupported_format_pair": 400,
  "convert.invalid_option": 400,
  "convert.empty_input": 400,
  "convert.input_too_large": 413,
  "convert.busy": 503,
  "convert.engine_failure": 500,
  // LibreOffice crashed on the document twice (the retry on a fresh instance too): retrying fails the same way.
  "convert.engine_crash_on_input": 422,
  // The document made LibreOffice or poppler pass a memory, CPU time or output size cap: it would again.
  "convert.resource_limit": 422,
  // More pages or slides than the caller's maxPages (what the job was charged for).
  "convert.too_many_pages": 422,
  "convert.unauthorized": 401,
  "convert.not_found": 404,
};

export class ConvertError extends Error {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly context: Record<string, unknown>;
  /** Seconds a client should wait before retrying (503 busy). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, detail: string, context: Record<string, unknown> = {}, retryAfter?: number) {
    super(`${code}: ${detail}`);
    this.code = code;
    this.detail = detail;
    this.context = context;
    this.retryAfter = retryAfter;
  }

  get status(): number {
    return statusOf[this.code];
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, detail: this.detail, ...this.context };
  }
}
