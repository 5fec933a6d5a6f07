ALTER TABLE `jobs` ADD `origin` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `enqueued_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `jobs` ADD `waiting_since` integer;--> statement-breakpoint
CREATE INDEX `jobs_status_enqueued` ON `jobs` (`status`,`enqueued_at`);--> statement-breakpoint
CREATE INDEX `jobs_output_expiry` ON `jobs` (`output_expires_at`) WHERE output_key IS NOT NULL;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_job_event` ON `webhook_deliveries` (`job_id`,`event_type`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_pending` ON `webhook_deliveries` (`next_attempt_at`) WHERE status = 'pending';