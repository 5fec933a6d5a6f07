// Seed 003's response models, transcribed row by row from ../shared/seeds/003_440c801b17e67e6d.txt (field,
// type, required) — not derived from docconv's zod schemas, so checking a real response against them is an
// independent check of the contract. `checkModel` answers the list of violations (empty: conforms).
// Types as the document writes them: string, number, object, a model name, `T[]`, unions with `|`.

export type FieldRow = readonly [field: string, type: string, required: boolean];

export const SEED_003_MODELS: Record<string, readonly FieldRow[]> = {
  ErrorResponse: [
    ["error", "string", true],
    ["detail", "string|null", true],
  ],
  JobAcceptedResponse: [
    ["id", "string", true],
    ["status", "string", true],
    ["creditCost", "number", true],
  ],
  JobStatusResponse: [
    ["id", "string", true],
    ["status", "string", true],
    ["progress.percent", "number", true],
    ["progress.phase", "string|null", false],
    ["metrics.inputBytes", "number", true],
    ["metrics.outputBytes", "number", true],
    ["metrics.creditCost", "number", true],
    ["error.code", "string", false],
    ["error.detail", "string", false],
    ["output", "JobOutputSummary|null", false],
  ],
  JobOutputSummary: [
    ["fileName", "string", true],
    ["contentType", "string", true],
    ["fileCount", "number", true],
  ],
  CostingInfo: [
    ["strategy", "string", true],
    ["baseCost", "number", true],
    ["increment", "number|null", false],
    ["incrementUnit", "string|null", false],
    ["displaySuffix", "string", true],
    ["costVariants", "object|null", false],
  ],
  GetConversionsResponse: [
    ["conversions", "ConversionItem[]", true],
    ["sourceFormatTo", "object", true],
    ["maxFileSizeBytes", "number", true],
    ["maxConcurrentJobs", "number", true],
    ["maxBatchFiles", "number", true],
  ],
  ConversionItem: [
    ["job", "string", true],
    ["category", "string", true],
    ["costing", "CostingInfo", true],
    ["endpoint", "string|null", false],
    ["inputFormats", "string[]", true],
    ["outputFormats", "string[]", true],
    ["maxFileSizeBytes", "number", true],
    ["maxConcurrentJobs", "number", true],
    ["maxPages", "number|null", false],
    ["maxDurationMinutes", "number|null", false],
    ["maxBatchSizeBytes", "number", true],
  ],
  ConversionEdge: [
    ["sourceFormat", "string", true],
    ["targetFormat", "string", true],
    ["job", "string", true],
    ["endpoint", "string|null", false],
    ["category", "string", true],
    ["costing", "CostingInfo", true],
    ["maxFileSizeBytes", "number", true],
    ["maxConcurrentJobs", "number", true],
    ["maxPages", "number|null", false],
    ["maxDurationMinutes", "number|null", false],
  ],
  ConvertFastEntitlementsResponse: [
    ["userId", "string|null", false],
    ["organizationId", "string|null", false],
    ["planId", "string", true],
    ["planName", "string", true],
    ["accessDisplayName", "string|null", false],
    ["totalCredits", "number", true],
    ["tier", "string", true],
    ["dailyLimit", "number|null", false],
    ["dailyUsed", "number|null", false],
    ["resetDate", "string|null", false],
  ],
};

/** Seed 003's closed vocabularies, from the same document's prose. */
export const SEED_003_VALUES = {
  jobStatus: ["Queued", "Running", "Succeeded", "Failed", "Canceled"],
  costingStrategy: ["Fixed", "PerMegabyte", "PerPage", "PerMinute"],
} as const;

const MISSING = Symbol("missing");

/** The value at a dotted path; MISSING when a step is absent, or when a parent is null (a null object has no fields). */
function at(value: unknown, path: string): unknown {
  let node: unknown = value;
  for (const part of path.split(".")) {
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, part)) return MISSING;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function matchesOne(value: unknown, type: string, where: string, problems: string[]): boolean {
  if (type === "null") return value === null;
  if (type === "string") return typeof value === "string";
  if (type === "number") return typeof value === "number" && Number.isFinite(value);
  if (type === "boolean") return typeof value === "boolean";
  if (type === "object") return value !== null && typeof value === "object" && !Array.isArray(value);
  if (type.endsWith("[]")) {
    if (!Array.isArray(value)) return false;
    const item = type.slice(0, -2);
    value.forEach((v, i) => {
      if (!matches(v, item, `${where}[${i}]`, problems))
        problems.push(`${where}[${i}]: expected ${item}, got ${describe(v)}`);
    });
    return true;
  }
  const model = SEED_003_MODELS[type];
  if (!model) throw new Error(`unknown type ${type} at ${where}`);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  problems.push(...checkModel(type, value, where));
  return true;
}

function matches(value: unknown, union: string, where: string, problems: string[]): boolean {
  return union.split("|").some((t) => matchesOne(value, t, where, problems));
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** Violations of seed 003's model `name` by `value`; fields beyond the model are allowed (extra fields may stay). */
export function checkModel(name: string, value: unknown, where = name): string[] {
  const rows = SEED_003_MODELS[name];
  if (!rows) throw new Error(`no model ${name}`);
  if (value === null || typeof value !== "object") return [`${where}: expected ${name}, got ${describe(value)}`];
  const problems: string[] = [];
  for (const [field, type, required] of rows) {
    const v = at(value, field);
    if (v === MISSING || v === undefined) {
      if (required) problems.push(`${where}.${field}: required, missing`);
      continue;
    }
    if (!matches(v, type, `${where}.${field}`, problems))
      problems.push(`${where}.${field}: expected ${type}, got ${describe(v)}`);
  }
  return problems;
}
