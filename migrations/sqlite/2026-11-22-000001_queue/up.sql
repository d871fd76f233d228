-- Scheduled jobs (cleanup rounds) are enqueued by every process that runs the scheduler;
-- the key (kind + schedule slot) makes one of them win.
ALTER TABLE jobs ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX jobs_dedup_key_idx ON jobs (dedup_key);
