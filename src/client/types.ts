// The HTTP contract as the client sees it: request and response shapes of every endpoint. Written out here
// so the client stands alone (Node, browsers, Workers); test/client-contract.types.ts checks the shapes that
// src/schemas.ts defines against these at compile time.

export type JobState = "Queued" | "Running" | "Succeeded" | "Failed" | "Canceled";
export const FINISHED_STATES: readonly JobState[] = ["Succeeded", "Failed", "Canceled"];

/** The error envelope of the job API (`/v1/convert*` and the rest): `error` is the dotted code, `type` its class. */
export interface ErrorEnvelope {
  error: string;
  type: string;
  detail: string;
  [context: string]: unknown;
}

/** The error envelope of `/v1/files*` and `/v1/runs*` (seed 000): `error` is the class, `code` the dotted code. */
export interface FilesErrorEnvelope {
  error: string;
  code: string;
  detail: string;
  message: string;
  [context: string]: unknown;
}

export interface ConvertOptions {
  /** CSV from a workbook: 1-based sheet index, sheet name, or `all`. */
  sheet?: string;
  /**
   * Pages for PDF and image outputs, like `1-3` or `1,3-5`, or `all`. Images without it: every page (a ZIP)
   * from `convert`, the first page (one image) from `convertFile` and `exportRun`.
   */
  pages?: string;
  dpi?: number;
  quality?: number;
  pdfa?: "1b" | "2b" | "3b";
  /** CSV outputs: false writes formula-like cells verbatim (by default they get a leading '). */
  escapeFormulas?: boolean;
}

export interface FileRecord {
  file_id: string;
  filename: string;
  bytes: number;
  source_format: string;
  purpose: string;
  pages: number | null;
  created_at: string;
}

export interface JobAccepted {
  id: string;
  status: "Queued";
  creditCost: number;
}

/** An Idempotency-Key replay of POST /v1/convert: the job as it is now. */
export interface JobReplay extends JobStatus {
  creditCost: number;
}

export interface BatchAccepted {
  jobs: (JobAccepted & { fileId: string; filename: string })[];
  creditCost: number;
}

export interface JobStatus {
  id: string;
  status: JobState;
  /** percent: 0 until Succeeded (100); phase: the step while Queued or Running, null once finished. */
  progress: { percent: number; phase: string | null };
  /** Byte counts are 0 while Queued or Running, and outputBytes 0 when nothing was produced. */
  metrics: {
    inputBytes: number;
    outputBytes: number;
    creditCost: number;
    inputPages: number | null;
    outputPages: number | null;
  };
  error: { code: string; detail: string } | null;
  output: { fileName: string; contentType: string; fileCount: number } | null;
  download_url: string | null;
  expires_at: string | null;
  sourceFormat: string;
  targetFormat: string;
  createdAt: string;
  finishedAt: string | null;
}

export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
}

export type CostingStrategy = "Fixed" | "PerMegabyte" | "PerPage" | "PerMinute";

export interface CostVariant {
  description: string;
  baseCost: number;
  displaySuffix: string;
}

/** credits = ceil(quantity / increment) × baseCost (Fixed: baseCost). */
export interface CostingInfo {
  strategy: CostingStrategy;
  baseCost: number;
  increment: number | null;
  incrementUnit: "pages" | "slides" | "mb" | null;
  displaySuffix: string;
  /** Keyed by variant (`pdfa`); null when the conversion has none. */
  costVariants: Record<string, CostVariant> | null;
}

export type Category = "documents" | "spreadsheets" | "presentations" | "drawings" | "images";

interface Limits {
  maxFileSizeBytes: number;
  maxConcurrentJobs: number;
  /** PerPage conversions only. */
  maxPages: number | null;
  maxDurationMinutes: number | null;
}

export interface ConversionItem extends Limits {
  job: string;
  category: Category;
  costing: CostingInfo;
  endpoint: string | null;
  inputFormats: string[];
  outputFormats: string[];
  maxBatchSizeBytes: number;
}

export interface ConversionEdge extends Limits {
  sourceFormat: string;
  targetFormat: string;
  job: string;
  endpoint: string | null;
  category: Category;
  costing: CostingInfo;
}

export interface Catalog {
  conversions: ConversionItem[];
  sourceFormatTo: Record<string, ConversionEdge[]>;
  maxFileSizeBytes: number;
  maxConcurrentJobs: number;
  maxBatchFiles: number;
}

export interface Estimate {
  sourceFormat: string;
  targetFormat: string;
  job: string;
  category: Category;
  costing: CostingInfo;
  inputs: {
    bytes: number;
    bytesSource: "given" | "assumed";
    pages: number | null;
    pagesSource: "given" | "assumed" | null;
    variant: string | null;
  };
  /** What was assumed for inputs the strategy needs and the request left out. */
  assumptions: string[];
  quantity: number;
  unit: string;
  increments: number;
  creditCost: number;
  maxPages: number | null;
}

export interface Entitlements {
  userId: string;
  organizationId: string | null;
  planId: "free" | "pro";
  planName: string;
  accessDisplayName: string;
  totalCredits: number;
  tier: "free" | "pro";
  dailyLimit: number | null;
  dailyUsed: number | null;
  resetDate: string | null;
  maxConcurrentJobs: number;
}

/** A cached rendition of a file (POST /v1/files/{file_id}/convert). */
export interface FileRendition {
  file_id: string;
  source_format: string;
  format: string;
  download_url: string;
  expires_at: string;
}

/** A run's output exported in another format (POST /v1/runs/{run_id}/export). */
export interface RunExport {
  format: string;
  download_url: string;
  expires_at: string;
}

/** The answer when a rendition or export is still converting after the wait. */
export interface RenditionPending {
  job_id: string;
  status: "Queued" | "Running";
  status_url: string;
}

export interface RenditionRequest extends ConvertOptions {
  format: string;
  /** Seconds to wait for a conversion that is not cached yet; 0 answers at once on a miss. */
  wait?: number;
}

export type WebhookEventType = "job.succeeded" | "job.failed" | "job.canceled";

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string | null;
  createdAt: string;
  disabledAt: string | null;
}

export interface WebhookEndpointCreated extends WebhookEndpoint {
  /** The signing secret: shown only in this response. */
  secret: string;
}

export interface WebhookAttempt {
  attempt: number;
  at: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  eventType: WebhookEventType;
  jobId: string;
  endpointId: string | null;
  url: string;
  status: "pending" | "delivered" | "failed";
  attemptCount: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
  attempts: WebhookAttempt[];
}

export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  createdAt: string;
  data: JobStatus;
  metadata: string | null;
}

/** GET /health: the API and its database only; it never reaches (or starts) a converter. */
export interface Health {
  status: "ok" | "degraded";
  api: "ok";
  database: "ok" | "unavailable";
}

/** GET /v1/converter: each converter container's state; the converter's own /health for running ones. */
export interface ConverterStatus {
  transport: "url" | "container";
  running: number;
  containers: {
    name: string;
    status: string;
    since: string | null;
    converter: unknown;
  }[];
}
