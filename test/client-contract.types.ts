// Compile-time contract (checked by `npm run typecheck`, nothing runs): every type the client (src/client/types.ts)
// gives its users equals the zod schema the server validates, answers and documents with. A field added, renamed
// or made nullable on one side only fails the typecheck.
import type { z } from "@hono/zod-openapi";
import type {
  BatchAccepted,
  Catalog,
  Category,
  ErrorEnvelope as ClientErrorEnvelope,
  FilesErrorEnvelope as ClientFilesErrorEnvelope,
  ConverterStatus,
  Entitlements,
  Estimate,
  FileRecord,
  FileRendition,
  Health,
  JobAccepted,
  JobReplay,
  JobStatus,
  RenditionPending,
  RenditionRequest,
  RunExport,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointCreated,
  WebhookEvent,
} from "../src/client/types.ts";
import type { CATEGORIES } from "../src/domain/matrix";
import type { CatalogSchema, EstimateSchema } from "../src/routes/catalog";
import type { BatchAcceptedSchema } from "../src/routes/convert";
import type { ConverterStatusSchema } from "../src/routes/converter";
import type { EntitlementsSchema } from "../src/routes/entitlements";
import type { FileRenditionSchema } from "../src/routes/files";
import type { HealthSchema } from "../src/routes/health";
import type { RunExportSchema } from "../src/routes/runs";
import type { CreatedEndpointSchema, DeliverySchema, EndpointSchema, WebhookEventSchema } from "../src/routes/webhooks";
import type {
  ErrorEnvelope,
  FileResponseSchema,
  FilesErrorEnvelope,
  JobAcceptedResponseSchema,
  JobReplayResponseSchema,
  JobStatusResponseSchema,
  RenditionPendingResponseSchema,
  RenditionRequestSchema,
} from "../src/schemas";

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
// Mutual assignability: the same shape where an intersection on one side defeats Equals.
type Assignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

export type ClientContract = [
  Assert<Equals<keyof typeof CATEGORIES, Category>>,
  Assert<Equals<z.infer<typeof JobStatusResponseSchema>, JobStatus>>,
  Assert<Equals<z.infer<typeof JobAcceptedResponseSchema>, JobAccepted>>,
  Assert<Equals<z.infer<typeof JobReplayResponseSchema>, JobReplay>>,
  Assert<Assignable<z.infer<typeof BatchAcceptedSchema>, BatchAccepted>>,
  Assert<Equals<z.infer<typeof FileResponseSchema>, FileRecord>>,
  Assert<Equals<z.infer<typeof FileRenditionSchema>, FileRendition>>,
  Assert<Equals<z.infer<typeof RunExportSchema>, RunExport>>,
  Assert<Equals<z.infer<typeof RenditionPendingResponseSchema>, RenditionPending>>,
  Assert<Equals<z.infer<typeof RenditionRequestSchema>, RenditionRequest>>,
  Assert<Equals<z.infer<typeof CatalogSchema>, Catalog>>,
  Assert<Equals<z.infer<typeof EstimateSchema>, Estimate>>,
  Assert<Equals<z.infer<typeof EntitlementsSchema>, Entitlements>>,
  Assert<Equals<z.infer<typeof EndpointSchema>, WebhookEndpoint>>,
  Assert<Equals<z.infer<typeof CreatedEndpointSchema>, WebhookEndpointCreated>>,
  Assert<Equals<z.infer<typeof DeliverySchema>, WebhookDelivery>>,
  Assert<Equals<z.infer<typeof WebhookEventSchema>, WebhookEvent>>,
  Assert<Assignable<z.infer<typeof ErrorEnvelope>, ClientErrorEnvelope>>,
  Assert<Assignable<z.infer<typeof FilesErrorEnvelope>, ClientFilesErrorEnvelope>>,
  Assert<Equals<z.infer<typeof HealthSchema>, Health>>,
  Assert<Equals<z.infer<typeof ConverterStatusSchema>, ConverterStatus>>,
];
