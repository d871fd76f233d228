-- Each committed change of a compose row notifies `composed_composes` with the row's id (one
-- notification per id and transaction: PostgreSQL folds identical ones), so API processes
-- keep what they derived from the other rows (src/db/changes.rs). TRUNCATE still notifies
-- without an id (any compose).
DROP TRIGGER composes_changed ON composes;

CREATE FUNCTION composed_compose_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('composed_composes', OLD.id::text);
    ELSE
        PERFORM pg_notify('composed_composes', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER composes_row_changed
    AFTER INSERT OR UPDATE OR DELETE ON composes
    FOR EACH ROW EXECUTE FUNCTION composed_compose_row_changed();

CREATE TRIGGER composes_truncated
    AFTER TRUNCATE ON composes
    FOR EACH STATEMENT EXECUTE FUNCTION composed_composes_changed();
