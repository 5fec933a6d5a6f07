// Typed queue message bodies. Messages carry ids, never documents (128 KB limit; R2 holds the bytes).

export interface JobMessage {
  type: "convert";
  jobId: string;
}

export interface WebhookMessage {
  type: "webhook";
  deliveryId: string;
}

export type QueueMessage = JobMessage | WebhookMessage;

// A message not consumed this long after it was sent (retry and back-pressure delays are far shorter) was lost:
// the sweeper sends another, and a webhook delivery that pending for this long may be redelivered by hand. A
// duplicate is harmless: only one delivery can claim a job, and a delivery no longer pending is skipped.
export const LOST_MESSAGE_AFTER_MS = 15 * 60 * 1000;
