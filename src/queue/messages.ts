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
