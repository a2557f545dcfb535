"""The rollups' unique keys compare the period start before the text columns: (territory, kpi, period_start,
period_type, view) and (territory, period_start, campaign, period_type, view). A view's rows share the view
(partitions are per view) and a (territory, kpi) pair has ~60 periods, so with the text columns first almost
every comparison of the full recompute's sort went through the collation twice; start first, text is
compared only among the few periods of one start (the rollup key's build at 3.36 million rows 2.24 → 1.20 s,
the campaign key's at 682,000 rows 0.53 → 0.32 s). Lookups by territory and KPI keep their prefix.

The partitions' unique indexes are named <partition>_unique, as the recompute's swap names them."""

from django.db import migrations, models

KEY = """
ALTER TABLE {table} DROP CONSTRAINT {name};
ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE {nulls} ({columns});
DO $$
DECLARE child record;
BEGIN
    FOR child IN
        SELECT i.inhrelid::regclass AS index_name, x.indrelid::regclass AS partition
        FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhrelid
        WHERE i.inhparent = '{name}'::regclass
    LOOP
        EXECUTE format('ALTER INDEX %s RENAME TO %I', child.index_name, child.partition::text || '_unique');
    END LOOP;
END $$;
"""

ROLLUP_OLD = "territory_id, kpi_id, view, period_type, period_start"
ROLLUP_NEW = "territory_id, kpi_id, period_start, period_type, view"
CAMPAIGN_OLD = "territory_id, view, period_type, period_start, campaign_id"
CAMPAIGN_NEW = "territory_id, period_start, campaign_id, period_type, view"


def _key(table: str, name: str, columns: str, nulls: str = "") -> str:
    return KEY.format(table=table, name=name, columns=columns, nulls=nulls)


class Migration(migrations.Migration):
    dependencies = [("kpis", "0010_rollup_period_index_start_first")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    _key("kpis_kpirollup", "kpi_rollup_unique", ROLLUP_NEW)
                    + _key("kpis_kpicampaignrollup", "kpi_campaign_rollup_unique", CAMPAIGN_NEW, "NULLS NOT DISTINCT"),
                    _key("kpis_kpirollup", "kpi_rollup_unique", ROLLUP_OLD)
                    + _key("kpis_kpicampaignrollup", "kpi_campaign_rollup_unique", CAMPAIGN_OLD, "NULLS NOT DISTINCT"),
                )
            ],
            state_operations=[
                migrations.RemoveConstraint(model_name="kpirollup", name="kpi_rollup_unique"),
                migrations.AddConstraint(
                    model_name="kpirollup",
                    constraint=models.UniqueConstraint(
                        fields=["territory", "kpi", "period_start", "period_type", "view"], name="kpi_rollup_unique"
                    ),
                ),
                migrations.RemoveConstraint(model_name="kpicampaignrollup", name="kpi_campaign_rollup_unique"),
                migrations.AddConstraint(
                    model_name="kpicampaignrollup",
                    constraint=models.UniqueConstraint(
                        fields=["territory", "period_start", "campaign", "period_type", "view"],
                        name="kpi_campaign_rollup_unique",
                        nulls_distinct=False,
                    ),
                ),
            ],
        )
    ]
