-- Every committed change of the composes table notifies `composed_composes` (one notification
-- per transaction: PostgreSQL folds identical ones), so API processes can tell that what they
-- derived from the table (their response caches) is stale. See src/db/changes.rs.
CREATE FUNCTION composed_composes_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('composed_composes', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER composes_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON composes
    FOR EACH STATEMENT EXECUTE FUNCTION composed_composes_changed();
