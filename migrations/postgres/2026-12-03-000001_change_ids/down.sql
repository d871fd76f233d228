DROP TRIGGER composes_truncated ON composes;
DROP TRIGGER composes_row_changed ON composes;
DROP FUNCTION composed_compose_row_changed();
CREATE TRIGGER composes_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON composes
    FOR EACH STATEMENT EXECUTE FUNCTION composed_composes_changed();
