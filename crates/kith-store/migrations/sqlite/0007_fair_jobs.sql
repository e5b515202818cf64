-- Fair background work and webhook endpoint health (issue 17).
--
-- Jobs run in lanes: `core` (order and group timers, money) and `delivery` (webhook
-- requests), each claimed and run by its own bounded pool, so a slow receiver never holds
-- up a timer. A job may carry two fairness keys (for deliveries: the merchant and the
-- endpoint); claims in a lane with limits never lease more than the limit per key.
ALTER TABLE jobs ADD COLUMN lane TEXT NOT NULL DEFAULT 'core';
ALTER TABLE jobs ADD COLUMN tenant_key TEXT;
ALTER TABLE jobs ADD COLUMN target_key TEXT;
UPDATE jobs SET lane = 'delivery' WHERE kind = 'webhook.deliver';
UPDATE jobs SET
    target_key = (SELECT d.endpoint_id FROM webhook_deliveries d
                  WHERE d.id = json_extract(jobs.payload, '$.delivery_id')),
    tenant_key = (SELECT d.merchant_id FROM webhook_deliveries d
                  WHERE d.id = json_extract(jobs.payload, '$.delivery_id'))
WHERE kind = 'webhook.deliver' AND status = 'queued' AND json_valid(payload);
DROP INDEX jobs_due_idx;
CREATE INDEX jobs_lane_due_idx ON jobs (lane, run_at) WHERE status = 'queued';
CREATE INDEX jobs_lane_lease_idx ON jobs (lane, lease_expires_at) WHERE status = 'queued';
CREATE INDEX jobs_target_idx ON jobs (target_key) WHERE status = 'queued';

-- One row per lane with limits: claims in that lane lock it, so servers sharing one
-- database count each other's leases before taking more.
CREATE TABLE job_lanes (
    lane TEXT PRIMARY KEY
);
INSERT INTO job_lanes (lane) VALUES ('core'), ('delivery');

-- An endpoint that keeps failing is paused as a whole (its queued deliveries wait until
-- `paused_until`), and disabled after failing long enough; the merchant re-enables it.
ALTER TABLE webhook_endpoints ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN failing_since INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN paused_until INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_at INTEGER;
ALTER TABLE webhook_endpoints ADD COLUMN disabled_reason TEXT;
