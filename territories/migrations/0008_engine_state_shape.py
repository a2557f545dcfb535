"""Engine cache, second form: the compiled-rules state records the model's shape (deepest level, product
territories or not), and the join keys become territories_engine_probe — one row per (rule, key value), or
one row with field '' for a rule without an equality criterion, carrying what ranking needs and the composite join key `lookup` (so the
per-level join reads no other table) plus two precomputed flags: `excl` (the rule's sibling group can give
an account at most one candidate, so it needs no ranking) and `chk` (the rule has criteria beyond its key).
territories_engine_branch lists, per parent and depth, the key fields its children's rules join on."""

from django.db import migrations

FORWARD = r"""
ALTER TABLE territories_engine_state ADD COLUMN max_depth integer NOT NULL DEFAULT -1,
    ADD COLUMN has_products boolean NOT NULL DEFAULT false;
UPDATE territories_engine_state SET version = 0;
DROP TABLE territories_engine_key;
CREATE TABLE territories_engine_probe (
    model_id bigint NOT NULL,
    depth integer NOT NULL,
    parent_key bigint NOT NULL,
    field text NOT NULL,                 -- key column of territories_engine_rule, '' = no key
    val text NOT NULL,                   -- one lower-cased key value, '' = no key
    rule_id bigint NOT NULL,
    territory_id bigint NOT NULL,
    kind text NOT NULL,
    priority integer NOT NULL,
    level integer NOT NULL,
    width numeric,
    code text NOT NULL,
    has_children boolean NOT NULL,
    excl boolean NOT NULL,               -- the sibling group yields at most one rule candidate per account
    chk boolean NOT NULL,                -- criteria beyond the key must be checked
    lookup text NOT NULL                 -- parent_key|field|val: one equality the planner estimates well
);
CREATE INDEX territories_engine_probe_lookup ON territories_engine_probe (model_id, depth, lookup);
CREATE TABLE territories_engine_branch (
    model_id bigint NOT NULL,
    depth integer NOT NULL,
    parent_key bigint NOT NULL,
    field text NOT NULL
);
CREATE INDEX territories_engine_branch_lookup ON territories_engine_branch (model_id, depth, parent_key);
"""

BACKWARD = r"""
DROP TABLE territories_engine_branch;
DROP TABLE territories_engine_probe;
CREATE TABLE territories_engine_key (
    model_id bigint NOT NULL,
    depth integer NOT NULL,
    field text NOT NULL,
    val text NOT NULL,
    parent_key bigint NOT NULL,
    rule_id bigint NOT NULL
);
CREATE INDEX territories_engine_key_lookup ON territories_engine_key (model_id, depth, field, val, parent_key);
UPDATE territories_engine_state SET version = 0;
ALTER TABLE territories_engine_state DROP COLUMN max_depth, DROP COLUMN has_products;
"""


class Migration(migrations.Migration):
    dependencies = [("territories", "0007_reassign_pending")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
