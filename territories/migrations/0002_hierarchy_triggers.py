"""Database-side guards for the hierarchy, so no path around the forms can store a bad tree:

* a parent must be in the same territory model and never a descendant (no cycles);
* territories_territoryclosure is kept in step with parent_id on insert and on re-parenting.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION territory_check_parent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM territories_territory p
        WHERE p.id = NEW.parent_id AND p.territory_model_id = NEW.territory_model_id
    ) THEN
        RAISE EXCEPTION 'parent: territory % must have a parent in the same territory model', NEW.code
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.parent_id = NEW.id OR EXISTS (
        SELECT 1 FROM territories_territoryclosure c
        WHERE c.ancestor_id = NEW.id AND c.descendant_id = NEW.parent_id
    ) THEN
        RAISE EXCEPTION 'parent: territory % cannot be its own ancestor', NEW.code
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER territory_check_parent
BEFORE INSERT OR UPDATE OF parent_id, territory_model_id ON territories_territory
FOR EACH ROW EXECUTE FUNCTION territory_check_parent();

CREATE FUNCTION territory_closure_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO territories_territoryclosure (ancestor_id, descendant_id, depth)
    SELECT NEW.id, NEW.id, 0
    UNION ALL
    SELECT c.ancestor_id, NEW.id, c.depth + 1
    FROM territories_territoryclosure c WHERE c.descendant_id = NEW.parent_id;
    RETURN NULL;
END $$;

CREATE TRIGGER territory_closure_insert
AFTER INSERT ON territories_territory
FOR EACH ROW EXECUTE FUNCTION territory_closure_insert();

CREATE FUNCTION territory_closure_reparent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Detach the subtree of NEW.id from its old ancestors...
    DELETE FROM territories_territoryclosure link
    USING territories_territoryclosure sub, territories_territoryclosure sup
    WHERE sub.ancestor_id = NEW.id
      AND link.descendant_id = sub.descendant_id
      AND sup.descendant_id = NEW.id AND sup.depth > 0
      AND link.ancestor_id = sup.ancestor_id;
    -- ...and attach it under the new parent's ancestors.
    INSERT INTO territories_territoryclosure (ancestor_id, descendant_id, depth)
    SELECT sup.ancestor_id, sub.descendant_id, sup.depth + sub.depth + 1
    FROM territories_territoryclosure sup, territories_territoryclosure sub
    WHERE sup.descendant_id = NEW.parent_id AND sub.ancestor_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER territory_closure_reparent
AFTER UPDATE OF parent_id ON territories_territory
FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id)
EXECUTE FUNCTION territory_closure_reparent();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS territory_closure_reparent ON territories_territory;
DROP FUNCTION IF EXISTS territory_closure_reparent();
DROP TRIGGER IF EXISTS territory_closure_insert ON territories_territory;
DROP FUNCTION IF EXISTS territory_closure_insert();
DROP TRIGGER IF EXISTS territory_check_parent ON territories_territory;
DROP FUNCTION IF EXISTS territory_check_parent();
"""


class Migration(migrations.Migration):
    dependencies = [("territories", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
