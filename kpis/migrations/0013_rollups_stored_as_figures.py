"""The rollups are stored as figures (docs/KPIS.md, "Stored as figures"), part one: the KPI rows' table
goes, the figures model (one row per territory × view × period) comes. Part two (0014) partitions the
figures by view and puts the KPI rows back as a view over them: Django builds a new table's indexes at
the end of its migration, after any SQL of the same migration."""

import django.db.models.deletion
from django.db import migrations, models

import kpis.models

DROP_ROLLUPS = "DROP TABLE kpis_kpirollup"


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0012_rollup_ids_cached"),
        ("territories", "0018_membership_territory_index_merged"),
        ("core", "0006_data_change_log_pages"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(DROP_ROLLUPS)],
            state_operations=[migrations.DeleteModel(name="KpiRollup")],
        ),
        migrations.CreateModel(
            name="KpiFigure",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "view",
                    models.CharField(
                        choices=[("as_of", "As of the deal's date"), ("restated", "Restated to the active alignment")],
                        default="as_of",
                        max_length=10,
                    ),
                ),
                (
                    "period_type",
                    models.CharField(
                        choices=[("month", "Month"), ("quarter", "Quarter"), ("year", "Year")], max_length=10
                    ),
                ),
                ("period_start", models.DateField()),
                (
                    "revenue",
                    models.DecimalField(decimal_places=2, default=0, help_text="Won deals' amount.", max_digits=20),
                ),
                ("won", models.IntegerField(default=0, help_text="Deals won.")),
                ("lost", models.IntegerField(default=0, help_text="Deals lost.")),
                (
                    "pipeline",
                    models.DecimalField(decimal_places=2, default=0, help_text="Open deals' amount.", max_digits=20),
                ),
                (
                    "weighted",
                    models.DecimalField(
                        decimal_places=4,
                        default=0,
                        help_text="Open deals' amount × probability / 100.",
                        max_digits=20,
                    ),
                ),
                ("created", models.IntegerField(default=0, help_text="Deals created in the period.")),
                ("created_won", models.IntegerField(default=0, help_text="Of those, the deals won since.")),
                ("new_customers", models.IntegerField(default=0)),
                ("accounts_end", models.IntegerField(default=0, help_text="Accounts measured at the period's end.")),
                (
                    "penetrated_end",
                    models.IntegerField(default=0, help_text="Of those, accounts with a won deal by then."),
                ),
                (
                    "previous_revenue",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        help_text="Revenue of the period before.",
                        max_digits=20,
                        null=True,
                    ),
                ),
                (
                    "target",
                    models.DecimalField(
                        blank=True,
                        decimal_places=4,
                        help_text="The revenue target (set or derived).",
                        max_digits=18,
                        null=True,
                    ),
                ),
                ("computed_at", models.DateTimeField()),
                (
                    "territory",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="kpi_figures",
                        to="territories.territory",
                    ),
                ),
            ],
            options={
                "verbose_name": "KPI figures",
                "verbose_name_plural": "KPI figures",
                "ordering": ["territory", "view", "period_type", "period_start"],
                "indexes": [models.Index(fields=["period_start", "period_type"], name="kpi_figure_period_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("territory", "period_start", "period_type", "view"), name="kpi_figure_unique"
                    ),
                    models.CheckConstraint(condition=kpis.models.VALID_PERIOD_START, name="kpi_figure_valid_period"),
                ],
            },
        ),
    ]
