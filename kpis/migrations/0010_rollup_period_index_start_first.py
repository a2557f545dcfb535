"""kpi_rollup_period_idx on (kpi, period_start, period_type) instead of (kpi, view, period_type, period_start):
partitions are per view, and with the start before the type the full recompute's sort of 3 million rows
compares text only among the rows of one start (5.3 s instead of 11.2 s for the build, unparallelled). The
partitions' indexes keep the names the recompute gives them (kpis_kpirollup_<view>_period)."""

from django.db import migrations, models

INDEX = """
DROP INDEX kpi_rollup_period_idx;
CREATE INDEX kpi_rollup_period_idx ON ONLY kpis_kpirollup ({columns});
CREATE INDEX kpis_kpirollup_as_of_period ON kpis_kpirollup_as_of ({columns});
CREATE INDEX kpis_kpirollup_restated_period ON kpis_kpirollup_restated ({columns});
ALTER INDEX kpi_rollup_period_idx ATTACH PARTITION kpis_kpirollup_as_of_period;
ALTER INDEX kpi_rollup_period_idx ATTACH PARTITION kpis_kpirollup_restated_period;
"""


class Migration(migrations.Migration):
    dependencies = [("kpis", "0009_product_line_change_marks_dirty")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    INDEX.format(columns="kpi_id, period_start, period_type"),
                    INDEX.format(columns="kpi_id, view, period_type, period_start"),
                )
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="kpirollup", name="kpi_rollup_period_idx"),
                migrations.AddIndex(
                    model_name="kpirollup",
                    index=models.Index(fields=["kpi", "period_start", "period_type"], name="kpi_rollup_period_idx"),
                ),
            ],
        )
    ]
