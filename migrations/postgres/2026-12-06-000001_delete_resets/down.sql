CREATE OR REPLACE FUNCTION composed_compose_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('composed_composes', OLD.id::text);
    ELSE
        PERFORM pg_notify('composed_composes', NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$;
