-- Watching a compose (issue 16).

-- Phase durations of generated composes, as cumulative Prometheus histogram buckets per
-- phase (le = the bucket's upper bound in seconds, "+Inf", or "sum" for the total in
-- milliseconds), added to by every worker and read by /api/1/metrics/.
CREATE TABLE phase_histogram (
    phase TEXT NOT NULL,
    le TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (phase, le)
);

-- The notifications relay's mark on each state message it has turned into deliveries.
ALTER TABLE outbox ADD COLUMN notified_at TIMESTAMP;
-- State changes from before notifications existed notify nobody.
UPDATE outbox SET notified_at = created_at;
CREATE INDEX outbox_unnotified_idx ON outbox (notified_at, id);

-- A request's own notification targets (the POST's "notify" field), as JSON.
CREATE TABLE compose_notify (
    compose_id BIGINT PRIMARY KEY NOT NULL,
    spec TEXT NOT NULL
);

-- One delivery of one state change to one email address or webhook.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    compose_id BIGINT NOT NULL,
    state INTEGER NOT NULL,
    channel TEXT NOT NULL,
    target TEXT NOT NULL,
    rule TEXT NOT NULL,
    payload TEXT NOT NULL,
    delivery_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX notifications_due_idx ON notifications (status, next_attempt_at);
CREATE INDEX notifications_compose_idx ON notifications (compose_id, id);
