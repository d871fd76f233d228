DROP TRIGGER compose_changes_pruned;
DROP TRIGGER composes_deleted;
DROP TRIGGER composes_updated;
DROP TRIGGER composes_inserted;
DROP TABLE compose_changes;
