// Worker entry: HTTP (the Hono app), queues (conversion and webhook consumers), cron (the sweeper).
import { createApp } from "./app";
import { openServices } from "./domain/services";
import { handleJobMessage } from "./queue/consumer";
import { handleDeadLetter, JOBS_DEAD_LETTER_QUEUE } from "./queue/dead-letters";
import type { JobMessage, QueueMessage, WebhookMessage } from "./queue/messages";
import { sweep } from "./queue/sweeper";
import { handleWebhookMessage } from "./queue/webhooks";

export { Converter } from "./converter/container-transport";
export { JobWaiter } from "./domain/job-waiter";

const app = createApp();

export default {
  fetch: app.fetch,

  async queue(batch: MessageBatch<QueueMessage>, env: Env, _ctx: ExecutionContext): Promise<void> {
    const svc = openServices(env);
    // Messages of a batch convert concurrently; the converter pool bounds the real parallelism.
    await Promise.all(
      batch.messages.map(async (message) => {
        try {
          if (batch.queue === JOBS_DEAD_LETTER_QUEUE) await handleDeadLetter(svc, message);
          else if (message.body.type === "convert") await handleJobMessage(svc, message as Message<JobMessage>);
          else if (message.body.type === "webhook") await handleWebhookMessage(svc, message as Message<WebhookMessage>);
          else message.ack();
        } catch (err) {
          console.error("queue message failed", batch.queue, err);
          message.retry({ delaySeconds: 5 });
        }
      }),
    );
  },

  async scheduled(_controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
    await sweep(openServices(env));
  },
} satisfies ExportedHandler<Env, QueueMessage>;
