"""Breakdown rollups (KpiBreakdownRollup: pipeline by stage, revenue by product line) and the product of a
captured deal change. kpis/0008 partitions the table and extends the capture (after this migration's
deferred constraint SQL has run).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_list_order_indexes"),
        ("kpis", "0006_deal_change_capture"),
        ("territories", "0009_membership_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="dealchange",
            name="new_product_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="dealchange",
            name="old_product_id",
            field=models.BigIntegerField(null=True),
        ),
        migrations.CreateModel(
            name="KpiBreakdownRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "dimension",
                    models.CharField(
                        choices=[("stage", "Pipeline by stage"), ("product_line", "Revenue by product line")],
                        max_length=12,
                    ),
                ),
                (
                    "stage",
                    models.CharField(
                        blank=True, default="", help_text="The key of the stage dimension.", max_length=20
                    ),
                ),
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
                ("deals", models.PositiveIntegerField()),
                ("amount", models.DecimalField(decimal_places=2, max_digits=20)),
                ("weighted", models.DecimalField(blank=True, decimal_places=6, max_digits=20, null=True)),
                ("computed_at", models.DateTimeField()),
                (
                    "product_line",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        help_text="The key of the product_line dimension (empty: no product).",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.productline",
                    ),
                ),
                (
                    "territory",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="territories.territory",
                    ),
                ),
            ],
            options={
                "verbose_name": "breakdown rollup",
                "ordering": ["territory", "view", "period_type", "period_start", "dimension", "stage", "product_line"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "territory",
                            "view",
                            "period_type",
                            "period_start",
                            "dimension",
                            "stage",
                            "product_line",
                        ),
                        name="kpi_breakdown_rollup_unique",
                        nulls_distinct=False,
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("period_start__day", 1),
                            models.Q(
                                ("period_type", "month"),
                                models.Q(("period_start__month__in", [1, 4, 7, 10]), ("period_type", "quarter")),
                                models.Q(("period_start__month", 1), ("period_type", "year")),
                                _connector="OR",
                            ),
                        ),
                        name="kpi_breakdown_rollup_valid_period",
                    ),
                ],
            },
        ),
    ]
