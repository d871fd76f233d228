-- A deleted compose row notifies without an id, as TRUNCATE does: API processes then derive
-- everything again (their index of compose ids, src/web/cache.rs, only ever adds ids).
-- composed never deletes compose rows; this covers rows deleted by hand.
CREATE OR REPLACE FUNCTION composed_compose_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('composed_composes', '');
    ELSE
        PERFORM pg_notify('composed_composes', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;
