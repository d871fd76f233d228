DROP TRIGGER IF EXISTS jobs_queued ON jobs;
DROP FUNCTION IF EXISTS composed_job_queued();
