-- Which composes changed, for other processes' response caches (src/db/changes.rs): each
-- insert, update or delete of a compose row appends its id; the log keeps its last 10,000 rows.
CREATE TABLE compose_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    compose_id BIGINT NOT NULL
);

CREATE TRIGGER composes_inserted AFTER INSERT ON composes
BEGIN
    INSERT INTO compose_changes (compose_id) VALUES (NEW.id);
END;

CREATE TRIGGER composes_updated AFTER UPDATE ON composes
BEGIN
    INSERT INTO compose_changes (compose_id) VALUES (NEW.id);
END;

CREATE TRIGGER composes_deleted AFTER DELETE ON composes
BEGIN
    INSERT INTO compose_changes (compose_id) VALUES (OLD.id);
END;

CREATE TRIGGER compose_changes_pruned AFTER INSERT ON compose_changes
BEGIN
    DELETE FROM compose_changes WHERE seq <= NEW.seq - 10000;
END;
