# A plan's diff against the active alignment, stored by the plan's full runs for the model page.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("territories", "0013_plan_no_db_constraints"),
    ]

    operations = [
        migrations.CreateModel(
            name="PlanDiff",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("computed_at", models.DateTimeField()),
                ("moved_accounts", models.PositiveIntegerField(help_text="Accounts whose deepest territories differ.")),
                ("moves", models.JSONField(default=list)),
                ("territories", models.JSONField(default=list)),
                (
                    "active_model",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="territories.territorymodel"
                    ),
                ),
                (
                    "territory_model",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="plan_diff",
                        to="territories.territorymodel",
                    ),
                ),
            ],
        ),
    ]
