"""The rollup tables' id sequences hand out values a thousand at a time per session: a full recompute
draws one id per row (3.4 million for a view at the benchmark's size), and a sequence without a cache takes
its lock and logs it every few values. Rollup ids order nothing (pages and the API order by territory,
KPI and period), so ids out of commit order across sessions cost nothing."""

from django.db import migrations

TABLES = ["kpis_kpirollup", "kpis_kpicampaignrollup", "kpis_kpibreakdownrollup"]


def _cache(size: int) -> str:
    return "\n".join(f"ALTER TABLE {table} ALTER COLUMN id SET CACHE {size};" for table in TABLES)


class Migration(migrations.Migration):
    dependencies = [("kpis", "0011_rollup_keys_start_first")]

    operations = [migrations.RunSQL(_cache(1000), _cache(1))]
