DROP TABLE bus_counters;
DROP TABLE triggers;
DROP INDEX outbox_amqp_unsent_idx;
ALTER TABLE outbox DROP COLUMN amqp_sent_at;
