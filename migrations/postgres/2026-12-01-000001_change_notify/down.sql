DROP TRIGGER composes_changed ON composes;
DROP FUNCTION composed_composes_changed();
