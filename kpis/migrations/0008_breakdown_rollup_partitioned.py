"""KpiBreakdownRollup partitioned by view like the other rollup tables (migration kpis/0005), tracked by the
page-figure change log (core/0004); the deal change capture (kpis/0006) records product_id too, so a
product change reaches the delta.
"""

from django.db import migrations

PARTITION = """
ALTER TABLE kpis_kpibreakdownrollup RENAME TO kpis_kpibreakdownrollup_old;
ALTER TABLE kpis_kpibreakdownrollup_old RENAME CONSTRAINT kpis_kpibreakdownrollup_pkey
    TO kpis_kpibreakdownrollup_old_pkey;
ALTER INDEX kpi_breakdown_rollup_unique RENAME TO kpi_breakdown_rollup_unique_old;
ALTER SEQUENCE kpis_kpibreakdownrollup_id_seq RENAME TO kpis_kpibreakdownrollup_old_id_seq;
CREATE TABLE kpis_kpibreakdownrollup
    (LIKE kpis_kpibreakdownrollup_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)
    PARTITION BY LIST (view);
ALTER TABLE kpis_kpibreakdownrollup ADD CONSTRAINT kpis_kpibreakdownrollup_pkey PRIMARY KEY (id, view);
ALTER TABLE kpis_kpibreakdownrollup ADD CONSTRAINT kpi_breakdown_rollup_unique
    UNIQUE NULLS NOT DISTINCT (territory_id, view, period_type, period_start, dimension, stage, product_line_id);
CREATE TABLE kpis_kpibreakdownrollup_as_of PARTITION OF kpis_kpibreakdownrollup FOR VALUES IN ('as_of')
    WITH (fillfactor = 90);
CREATE TABLE kpis_kpibreakdownrollup_restated PARTITION OF kpis_kpibreakdownrollup FOR VALUES IN ('restated')
    WITH (fillfactor = 90);
DROP TABLE kpis_kpibreakdownrollup_old;
CREATE TRIGGER kpis_kpibreakdownrollup_data_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON kpis_kpibreakdownrollup FOR EACH STATEMENT EXECUTE FUNCTION core_data_changed();
"""

OLD_COLUMNS = ["account_id", "campaign_id", "amount", "stage", "probability", "created_on", "expected_close_on",
               "closed_on"]  # fmt: skip
COLUMNS = OLD_COLUMNS + ["product_id"]


def capture_function(columns: list[str]) -> str:
    """kpis_deal_change_capture() of migration kpis/0006, over the given columns."""

    def cols(prefix: str) -> str:
        return ", ".join(f"{prefix}{c}" for c in columns)

    return f"""
CREATE OR REPLACE FUNCTION kpis_deal_change_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM kpis_kpirollup) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO kpis_dealchange (deal_id, {cols("new_")})
        SELECT n.id, {cols("n.")} FROM kpis_new_deals n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO kpis_dealchange (deal_id, {cols("old_")})
        SELECT o.id, {cols("o.")} FROM kpis_old_deals o;
    ELSE
        INSERT INTO kpis_dealchange (deal_id, {cols("old_")}, {cols("new_")})
        SELECT n.id, {cols("o.")}, {cols("n.")}
        FROM kpis_old_deals o JOIN kpis_new_deals n ON n.id = o.id
        WHERE ({cols("o.")}) IS DISTINCT FROM ({cols("n.")});
    END IF;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("kpis", "0007_breakdown_rollup"), ("core", "0004_data_change_log")]

    operations = [
        migrations.RunSQL(sql=PARTITION, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(sql=capture_function(COLUMNS), reverse_sql=capture_function(OLD_COLUMNS)),
    ]
