-- A queued job wakes the listening workers from the row's own trigger, inside the inserting
-- statement, instead of a separate `SELECT pg_notify` round trip after each insert (a POST's
-- latency on PostgreSQL is its round trips). The payload is the job's queue, as before. An
-- insert skipped by ON CONFLICT DO NOTHING fires no row trigger, so it wakes nobody, as before.
CREATE FUNCTION composed_job_queued() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('composed_jobs', NEW.queue);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER jobs_queued AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION composed_job_queued();
