-- A deleted compose row is logged as compose 0 (no compose has that id): the watcher
-- (src/db/changes.rs) takes it as a reset, and API processes derive everything again (their
-- index of compose ids, src/web/cache.rs, only ever adds ids). composed never deletes compose
-- rows; this covers rows deleted by hand.
DROP TRIGGER composes_deleted;

CREATE TRIGGER composes_deleted AFTER DELETE ON composes
BEGIN
    INSERT INTO compose_changes (compose_id) VALUES (0);
END;
