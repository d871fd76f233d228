-- Nothing to create on SQLite: other connections' commits are seen through
-- `PRAGMA data_version` (src/db/changes.rs). This migration keeps the two backends' lists of
-- migrations the same.
SELECT 1;
