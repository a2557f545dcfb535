"""A territory never moves to another territory model: a model is copied instead.

Moving one row would leave its children (and its closure rows, rules' history) pointing across models;
the parent trigger only sees the moved row, so the database refuses the move itself.
"""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION territory_model_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'territory_model: territory % cannot move to another territory model; copy the model instead',
        NEW.code USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER territory_model_fixed
BEFORE UPDATE OF territory_model_id ON territories_territory
FOR EACH ROW WHEN (OLD.territory_model_id IS DISTINCT FROM NEW.territory_model_id)
EXECUTE FUNCTION territory_model_fixed();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS territory_model_fixed ON territories_territory;
DROP FUNCTION IF EXISTS territory_model_fixed();
"""


class Migration(migrations.Migration):
    dependencies = [("territories", "0005_engine_rule_index")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
