DROP INDEX jobs_dedup_key_idx;
ALTER TABLE jobs DROP COLUMN dedup_key;
