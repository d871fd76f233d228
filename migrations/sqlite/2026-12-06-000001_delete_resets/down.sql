DROP TRIGGER composes_deleted;

CREATE TRIGGER composes_deleted AFTER DELETE ON composes
BEGIN
    INSERT INTO compose_changes (compose_id) VALUES (OLD.id);
END;
