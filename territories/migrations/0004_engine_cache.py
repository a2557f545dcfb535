"""The assignment engine's compiled-rule cache (plain tables, not Django models).

territories_engine_rule holds one flattened row per rule of a model (criteria as columns) and
territories_engine_key the values a rule can be joined on; both are rebuilt by the engine when
territories_engine_version moved since the model was compiled. Statement-level triggers bump the
version on any change to territories, rules or criteria, so the cache cannot go stale silently.
"""

from django.db import migrations

FORWARD = r"""
CREATE TABLE territories_engine_version (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL);
INSERT INTO territories_engine_version VALUES (1, 1);

CREATE TABLE territories_engine_state (model_id bigint PRIMARY KEY, version bigint NOT NULL);

CREATE TABLE territories_engine_rule (
    model_id bigint NOT NULL,
    rule_id bigint NOT NULL,
    territory_id bigint NOT NULL,
    parent_key bigint NOT NULL,          -- parent territory id, 0 for a root
    kind text NOT NULL,
    depth integer NOT NULL,
    priority integer NOT NULL,
    code text NOT NULL,
    has_children boolean NOT NULL,
    level integer NOT NULL,              -- specificity: postal 4 > city 3 > region 2 > country 1
    width numeric,                       -- narrowest range of the rule; NULL = unbounded
    never boolean NOT NULL,              -- a criterion that can match nothing (bad data)
    key_field text,                      -- the equality criterion the engine joins accounts on
    countries text[], regions text[], cities text[], postal_in text[], prefixes text[],
    pr_start text, pr_end text,
    has_emp boolean NOT NULL, emp_min numeric, emp_max numeric,
    has_rev boolean NOT NULL, rev_min numeric, rev_max numeric,
    btypes text[], industries text[], products text[], plines text[]
);
CREATE INDEX territories_engine_rule_lookup ON territories_engine_rule (model_id, depth, parent_key);

CREATE TABLE territories_engine_key (
    model_id bigint NOT NULL,
    depth integer NOT NULL,
    field text NOT NULL,
    val text NOT NULL,
    parent_key bigint NOT NULL,
    rule_id bigint NOT NULL
);
CREATE INDEX territories_engine_key_lookup ON territories_engine_key (model_id, depth, field, val, parent_key);

CREATE FUNCTION territories_engine_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE territories_engine_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;

CREATE TRIGGER territories_engine_bump AFTER INSERT OR UPDATE OR DELETE ON territories_territory
FOR EACH STATEMENT EXECUTE FUNCTION territories_engine_bump();
CREATE TRIGGER territories_engine_bump AFTER INSERT OR UPDATE OR DELETE ON territories_territoryrule
FOR EACH STATEMENT EXECUTE FUNCTION territories_engine_bump();
CREATE TRIGGER territories_engine_bump AFTER INSERT OR UPDATE OR DELETE ON territories_rulecriterion
FOR EACH STATEMENT EXECUTE FUNCTION territories_engine_bump();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS territories_engine_bump ON territories_rulecriterion;
DROP TRIGGER IF EXISTS territories_engine_bump ON territories_territoryrule;
DROP TRIGGER IF EXISTS territories_engine_bump ON territories_territory;
DROP FUNCTION IF EXISTS territories_engine_bump();
DROP TABLE IF EXISTS territories_engine_key;
DROP TABLE IF EXISTS territories_engine_rule;
DROP TABLE IF EXISTS territories_engine_state;
DROP TABLE IF EXISTS territories_engine_version;
"""


class Migration(migrations.Migration):
    dependencies = [("territories", "0003_engine")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
