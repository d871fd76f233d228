-- fedora-messaging (AMQP) delivery marker, separate from fedmsg's sent_at: each transport
-- delivers the backlog in order on its own.
ALTER TABLE outbox ADD COLUMN amqp_sent_at TIMESTAMP;
CREATE INDEX outbox_amqp_unsent_idx ON outbox (amqp_sent_at, id);

-- What triggered a compose: one row per coalesced window (or cron firing).
CREATE TABLE triggers (
    id BIGSERIAL PRIMARY KEY,
    rule TEXT NOT NULL,
    topic TEXT NOT NULL,
    message_ids TEXT NOT NULL,
    events INTEGER NOT NULL,
    received_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    compose_id BIGINT,
    dedup_key TEXT UNIQUE
);
CREATE INDEX triggers_rule_idx ON triggers (rule, id);
CREATE INDEX triggers_created_idx ON triggers (created_at);

-- Listener counters (malformed input by transport and reason, received, duplicates), added
-- to by every listening process and read by /api/1/metrics/.
CREATE TABLE bus_counters (
    metric TEXT NOT NULL,
    transport TEXT NOT NULL,
    reason TEXT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (metric, transport, reason)
);
