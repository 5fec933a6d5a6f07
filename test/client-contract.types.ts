// Compile-time contract (checked by `npm run typecheck`, nothing runs): the client's hand-written types in
// src/client/types.ts equal the zod schemas the server validates, answers and documents with. A field added,
// renamed or made nullable on one side only fails the typecheck.
import type { z } from "@hono/zod-openapi";
import type { Category, ConverterStatus, FileRecord, Health, JobAccepted, JobStatus, RenditionPending, RenditionRequest } from "../src/client/types.ts";
import type { ErrorEnvelope as ClientErrorEnvelope, FilesErrorEnvelope as ClientFilesErrorEnvelope } from "../src/client/types.ts";
import type { ConverterStatusSchema } from "../src/routes/converter";
import type { HealthSchema } from "../src/routes/health";
import type { CATEGORIES } from "../src/domain/matrix";
import type {
  ErrorEnvelope,
  FilesErrorEnvelope,
  FileResponseSchema,
  JobAcceptedResponseSchema,
  JobStatusResponseSchema,
  RenditionPendingResponseSchema,
  RenditionRequestSchema,
} from "../src/schemas";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type ClientContract = [
  Assert<Equals<keyof typeof CATEGORIES, Category>>,
  Assert<Equals<z.infer<typeof JobStatusResponseSchema>, JobStatus>>,
  Assert<Equals<z.infer<typeof JobAcceptedResponseSchema>, JobAccepted>>,
  Assert<Equals<z.infer<typeof FileResponseSchema>, FileRecord>>,
  Assert<Equals<z.infer<typeof RenditionPendingResponseSchema>, RenditionPending>>,
  Assert<Equals<z.infer<typeof RenditionRequestSchema>, RenditionRequest>>,
  Assert<Assignable<z.infer<typeof ErrorEnvelope>, ClientErrorEnvelope>>,
  Assert<Assignable<z.infer<typeof FilesErrorEnvelope>, ClientFilesErrorEnvelope>>,
  Assert<Equals<z.infer<typeof HealthSchema>, Health>>,
  Assert<Equals<z.infer<typeof ConverterStatusSchema>, ConverterStatus>>,
];
