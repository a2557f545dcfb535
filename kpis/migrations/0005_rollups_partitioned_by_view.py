"""The rollup tables become partitioned by view (one partition per view), so a full recompute of a view
builds a fresh partition — rows inserted into an unindexed table, indexes built by sorting afterwards —
and swaps it in (DETACH the old one, ATTACH the new one) in its transaction, instead of deleting and
re-inserting millions of rows through three btree indexes. See kpis/services.py (_swap_partition).

The Django model state does not change: same columns, same constraint names on the parent. The primary
key on the database side is (id, view), because a partitioned table's unique keys must contain the
partition key; id alone stays unique (one identity sequence on the parent).
"""

from django.db import migrations

PARTITION = """
ALTER TABLE {table} RENAME TO {table}_old;
ALTER TABLE {table}_old RENAME CONSTRAINT {table}_pkey TO {table}_old_pkey;
ALTER TABLE {table}_old RENAME CONSTRAINT {unique} TO {unique}_old;
ALTER SEQUENCE {table}_id_seq RENAME TO {table}_old_id_seq;
{drop_index}
CREATE TABLE {table} (LIKE {table}_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)
    PARTITION BY LIST (view);
ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY (id, view);
ALTER TABLE {table} ADD CONSTRAINT {unique} UNIQUE {nulls} ({unique_columns});
{create_index}
CREATE TABLE {table}_as_of PARTITION OF {table} FOR VALUES IN ('as_of') WITH (fillfactor = 90);
CREATE TABLE {table}_restated PARTITION OF {table} FOR VALUES IN ('restated') WITH (fillfactor = 90);
INSERT INTO {table} SELECT * FROM {table}_old;
SELECT setval('{table}_id_seq', coalesce((SELECT max(id) FROM {table}_old), 0) + 1, false);
DROP TABLE {table}_old;
"""

ROLLUP = PARTITION.format(
    table="kpis_kpirollup",
    unique="kpi_rollup_unique",
    nulls="",
    unique_columns="territory_id, kpi_id, view, period_type, period_start",
    drop_index="DROP INDEX kpi_rollup_period_idx;",
    create_index="CREATE INDEX kpi_rollup_period_idx ON kpis_kpirollup (kpi_id, view, period_type, period_start);",
)
CAMPAIGN = PARTITION.format(
    table="kpis_kpicampaignrollup",
    unique="kpi_campaign_rollup_unique",
    nulls="NULLS NOT DISTINCT",
    unique_columns="territory_id, view, period_type, period_start, campaign_id",
    drop_index="",
    create_index="",
)


class Migration(migrations.Migration):
    dependencies = [("kpis", "0004_rollups_bulk_friendly")]

    operations = [migrations.RunSQL(sql=ROLLUP + CAMPAIGN, reverse_sql=migrations.RunSQL.noop)]
