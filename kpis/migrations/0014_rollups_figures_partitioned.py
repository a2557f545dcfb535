"""The rollups stored as figures, part two: kpis_kpifigure (one row per territory × view × period, the
twelve figures every KPI of the period follows from) becomes partitioned by view like the table it
replaces, and the KPI rows (kpis_kpirollup) come back as a view that unpivots the figures. A full
recompute writes and indexes eleven times fewer rows (docs/KPIS.md, "Stored as figures").

The view holds each KPI's expression (they were kpis.rollup_sql.KPI_EXPRESSIONS, unpivoted per recompute);
a change to them needs a migration that replaces the view. id = figure id × 16 + the KPI's position.

The stored rollups are derived data and are not converted: every territory of the active model is marked
dirty, so the next flush (or the nightly full recompute) computes them again.
"""

import django.db.models.deletion
from django.db import migrations, models

# As kpis/0005: the table Django created becomes the parent of one partition per view; its key on the
# database side is (id, view) (a partitioned table's keys must contain the partition key).
PARTITION = """
ALTER TABLE kpis_kpifigure RENAME TO kpis_kpifigure_old;
ALTER TABLE kpis_kpifigure_old RENAME CONSTRAINT kpis_kpifigure_pkey TO kpis_kpifigure_old_pkey;
ALTER TABLE kpis_kpifigure_old RENAME CONSTRAINT kpi_figure_unique TO kpi_figure_unique_old;
ALTER SEQUENCE kpis_kpifigure_id_seq RENAME TO kpis_kpifigure_old_id_seq;
DROP INDEX kpi_figure_period_idx;
CREATE TABLE kpis_kpifigure (LIKE kpis_kpifigure_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)
    PARTITION BY LIST (view);
DROP TABLE kpis_kpifigure_old;
ALTER TABLE kpis_kpifigure ADD CONSTRAINT kpis_kpifigure_pkey PRIMARY KEY (id, view);
ALTER TABLE kpis_kpifigure ADD CONSTRAINT kpi_figure_unique UNIQUE (territory_id, period_start, period_type, view);
CREATE INDEX kpi_figure_period_idx ON kpis_kpifigure (period_start, period_type);
CREATE TABLE kpis_kpifigure_as_of PARTITION OF kpis_kpifigure FOR VALUES IN ('as_of') WITH (fillfactor = 90);
CREATE TABLE kpis_kpifigure_restated PARTITION OF kpis_kpifigure FOR VALUES IN ('restated') WITH (fillfactor = 90);
-- A full recompute draws one id per row (kpis/0012).
ALTER TABLE kpis_kpifigure ALTER COLUMN id SET CACHE 1000;
CREATE TRIGGER kpis_kpifigure_data_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON kpis_kpifigure FOR EACH STATEMENT EXECUTE FUNCTION core_data_changed();
"""

# Each catalogue KPI from the figures (alias p), by its position in the catalogue. A cross join with the
# definitions and CASE expressions, not a VALUES list per figures row: a reader evaluates only the columns
# it reads (counting one view's 3,355,000 rows at the benchmark's size: 0.35 s against 3.1 s; one KPI of
# one period for 5,000 territories: 20 against 195 ms). A KPI without its definition row has no rows.
ROLLUP_VIEW = """
CREATE VIEW kpis_kpirollup AS
SELECT p.id * 16 + k.position AS id, p.id AS figure_id, k.position, p.territory_id, k.id AS kpi_id, p.view,
       p.period_type, p.period_start,
       round(CASE k.position
           WHEN 1 THEN p.revenue
           WHEN 2 THEN p.won
           WHEN 3 THEN p.revenue / nullif(p.won, 0)
           WHEN 4 THEN p.won::numeric / nullif(p.won + p.lost, 0)
           WHEN 5 THEN (p.revenue - p.previous_revenue) / nullif(p.previous_revenue, 0)
           WHEN 6 THEN p.new_customers
           WHEN 7 THEN p.penetrated_end::numeric / nullif(p.accounts_end, 0)
           WHEN 8 THEN p.pipeline
           WHEN 9 THEN p.weighted
           WHEN 10 THEN p.created_won::numeric / nullif(p.created, 0)
           WHEN 11 THEN p.revenue / nullif(p.target, 0)
       END, 6)::numeric(20, 6) AS value,
       (CASE k.position
           WHEN 3 THEN p.revenue
           WHEN 4 THEN p.won
           WHEN 5 THEN p.revenue - p.previous_revenue
           WHEN 7 THEN p.penetrated_end
           WHEN 10 THEN p.created_won
           WHEN 11 THEN p.revenue
       END)::numeric(20, 4) AS numerator,
       (CASE k.position
           WHEN 3 THEN p.won
           WHEN 4 THEN p.won + p.lost
           WHEN 5 THEN p.previous_revenue
           WHEN 7 THEN p.accounts_end
           WHEN 10 THEN p.created
           WHEN 11 THEN p.target
       END)::numeric(20, 4) AS denominator,
       p.computed_at
FROM kpis_kpifigure p
CROSS JOIN (
    SELECT id, CASE code
        WHEN 'revenue' THEN 1 WHEN 'deals_won' THEN 2 WHEN 'average_deal_size' THEN 3 WHEN 'win_rate' THEN 4
        WHEN 'revenue_growth' THEN 5 WHEN 'new_customers' THEN 6 WHEN 'market_penetration' THEN 7
        WHEN 'pipeline_value' THEN 8 WHEN 'weighted_pipeline' THEN 9 WHEN 'lead_conversion' THEN 10
        WHEN 'quota_attainment' THEN 11 END AS position
    FROM kpis_kpidefinition
) k
WHERE k.position IS NOT NULL
"""

MARK_DIRTY = """
INSERT INTO kpis_rollupdirty (territory_id, since)
SELECT t.id, now() FROM territories_territory t
JOIN territories_territorymodel m ON m.id = t.territory_model_id AND m.state = 'active'
ON CONFLICT (territory_id) DO NOTHING
"""


class Migration(migrations.Migration):
    dependencies = [("kpis", "0013_rollups_stored_as_figures")]

    operations = [
        migrations.RunSQL(PARTITION),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(ROLLUP_VIEW)],
            state_operations=[
                migrations.CreateModel(
                    name="KpiRollup",
                    fields=[
                        ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("position", models.PositiveSmallIntegerField()),
                        (
                            "view",
                            models.CharField(
                                choices=[
                                    ("as_of", "As of the deal's date"),
                                    ("restated", "Restated to the active alignment"),
                                ],
                                default="as_of",
                                max_length=10,
                            ),
                        ),
                        (
                            "period_type",
                            models.CharField(
                                choices=[("month", "Month"), ("quarter", "Quarter"), ("year", "Year")],
                                max_length=10,
                            ),
                        ),
                        ("period_start", models.DateField()),
                        (
                            "value",
                            models.DecimalField(
                                blank=True,
                                decimal_places=6,
                                help_text="Empty when undefined.",
                                max_digits=20,
                                null=True,
                            ),
                        ),
                        ("numerator", models.DecimalField(blank=True, decimal_places=4, max_digits=20, null=True)),
                        ("denominator", models.DecimalField(blank=True, decimal_places=4, max_digits=20, null=True)),
                        ("computed_at", models.DateTimeField()),
                        (
                            "figure",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to="kpis.kpifigure",
                            ),
                        ),
                        (
                            "kpi",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="rollups",
                                to="kpis.kpidefinition",
                            ),
                        ),
                        (
                            "territory",
                            models.ForeignKey(
                                db_constraint=False,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="kpi_rollups",
                                to="territories.territory",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "KPI rollup",
                        "db_table": "kpis_kpirollup",
                        "ordering": ["territory", "kpi", "view", "period_type", "period_start"],
                        "managed": False,
                    },
                ),
            ],
        ),
        migrations.RunSQL(MARK_DIRTY),
    ]
