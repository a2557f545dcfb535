"""Deal change capture for delta maintenance of the rollups (docs/KPIS.md, "Incremental updates").

Statement-level AFTER triggers on accounts_deal (transition tables: one INSERT … SELECT per statement,
not per row) write each changed deal's old and new row into kpis_dealchange in the writer's transaction.
An UPDATE that changes none of the columns the rollups read writes nothing. While no rollups exist at all
there is nothing to maintain (the first recompute reads the deals themselves), so bulk loads into an empty
database are not captured.
"""

import django.db.models.functions.datetime
from django.db import migrations, models

COLUMNS = [
    "account_id",
    "campaign_id",
    "amount",
    "stage",
    "probability",
    "created_on",
    "expected_close_on",
    "closed_on",
]


def _cols(prefix: str) -> str:
    return ", ".join(f"{prefix}{c}" for c in COLUMNS)


TRIGGERS = f"""
CREATE FUNCTION kpis_deal_change_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM kpis_kpirollup) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO kpis_dealchange (deal_id, {_cols("new_")})
        SELECT n.id, {_cols("n.")} FROM kpis_new_deals n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO kpis_dealchange (deal_id, {_cols("old_")})
        SELECT o.id, {_cols("o.")} FROM kpis_old_deals o;
    ELSE
        INSERT INTO kpis_dealchange (deal_id, {_cols("old_")}, {_cols("new_")})
        SELECT n.id, {_cols("o.")}, {_cols("n.")}
        FROM kpis_old_deals o JOIN kpis_new_deals n ON n.id = o.id
        WHERE ({_cols("o.")}) IS DISTINCT FROM ({_cols("n.")});
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER kpis_deal_insert AFTER INSERT ON accounts_deal REFERENCING NEW TABLE AS kpis_new_deals
    FOR EACH STATEMENT EXECUTE FUNCTION kpis_deal_change_capture();
CREATE TRIGGER kpis_deal_update AFTER UPDATE ON accounts_deal
    REFERENCING OLD TABLE AS kpis_old_deals NEW TABLE AS kpis_new_deals
    FOR EACH STATEMENT EXECUTE FUNCTION kpis_deal_change_capture();
CREATE TRIGGER kpis_deal_delete AFTER DELETE ON accounts_deal REFERENCING OLD TABLE AS kpis_old_deals
    FOR EACH STATEMENT EXECUTE FUNCTION kpis_deal_change_capture();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS kpis_deal_insert ON accounts_deal;
DROP TRIGGER IF EXISTS kpis_deal_update ON accounts_deal;
DROP TRIGGER IF EXISTS kpis_deal_delete ON accounts_deal;
DROP FUNCTION IF EXISTS kpis_deal_change_capture();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0005_rollups_partitioned_by_view"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="DealChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("deal_id", models.BigIntegerField()),
                ("old_account_id", models.BigIntegerField(null=True)),
                ("old_campaign_id", models.BigIntegerField(null=True)),
                ("old_amount", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("old_stage", models.CharField(max_length=20, null=True)),
                ("old_probability", models.SmallIntegerField(null=True)),
                ("old_created_on", models.DateField(null=True)),
                ("old_expected_close_on", models.DateField(null=True)),
                ("old_closed_on", models.DateField(null=True)),
                ("new_account_id", models.BigIntegerField(null=True)),
                ("new_campaign_id", models.BigIntegerField(null=True)),
                ("new_amount", models.DecimalField(decimal_places=2, max_digits=14, null=True)),
                ("new_stage", models.CharField(max_length=20, null=True)),
                ("new_probability", models.SmallIntegerField(null=True)),
                ("new_created_on", models.DateField(null=True)),
                ("new_expected_close_on", models.DateField(null=True)),
                ("new_closed_on", models.DateField(null=True)),
                ("changed_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
            ],
            options={"verbose_name": "pending deal change"},
        ),
        migrations.RunSQL(sql=TRIGGERS, reverse_sql=DROP_TRIGGERS),
    ]
