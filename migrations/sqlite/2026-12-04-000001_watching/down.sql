DROP TABLE notifications;
DROP TABLE compose_notify;
DROP INDEX outbox_unnotified_idx;
ALTER TABLE outbox DROP COLUMN notified_at;
DROP TABLE phase_histogram;
