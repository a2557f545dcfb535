"""A plan's accounts as one answer signature per account (PlanAccountAnswer) instead of one row per
deepest territory: a third of the rows to write, and a plan run rewrites only the accounts whose answer
changed. PlannedAccountTerritory becomes a read-only view of the same rows for its readers."""

import django.db.models.deletion
from django.contrib.postgres.fields import ArrayField
from django.db import migrations, models

SOURCE_CODE = "CASE source WHEN 'override' THEN 0 WHEN 'named' THEN 1 ELSE 2 END"

COPY_PLANS = f"""
INSERT INTO territories_planaccountanswer (territory_model_id, account_id, sig)
SELECT territory_model_id, account_id, array_agg(territory_id * 4 + {SOURCE_CODE} ORDER BY territory_id)
FROM territories_plannedaccountterritory GROUP BY territory_model_id, account_id
"""

CREATE_VIEW = """
CREATE VIEW territories_plannedaccountterritory AS
SELECT a.territory_model_id, a.account_id, e / 4 AS territory_id,
       (CASE e % 4 WHEN 0 THEN 'override' WHEN 1 THEN 'named' ELSE 'rule' END)::varchar(10) AS source
FROM territories_planaccountanswer a CROSS JOIN LATERAL unnest(a.sig) e
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("territories", "0016_membership_no_db_constraints"),
    ]

    operations = [
        migrations.CreateModel(
            name="PlanAccountAnswer",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "territory_model_id",
                        "account_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "territory_model",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="territories.territorymodel",
                    ),
                ),
                (
                    "account",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="accounts.account",
                    ),
                ),
                ("sig", ArrayField(base_field=models.BigIntegerField(), size=None)),
            ],
        ),
        migrations.RunSQL(COPY_PLANS, migrations.RunSQL.noop),
        migrations.DeleteModel(name="PlannedAccountTerritory"),
        migrations.RunSQL(CREATE_VIEW, "DROP VIEW territories_plannedaccountterritory"),
        migrations.CreateModel(
            name="PlannedAccountTerritory",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "territory_model_id",
                        "account_id",
                        "territory_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[("rule", "Rule"), ("named", "Named account"), ("override", "Manual override")],
                        max_length=10,
                    ),
                ),
                (
                    "account",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="accounts.account",
                    ),
                ),
                (
                    "territory",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="planned_accounts",
                        to="territories.territory",
                    ),
                ),
                (
                    "territory_model",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="planned_accounts",
                        to="territories.territorymodel",
                    ),
                ),
            ],
            options={"db_table": "territories_plannedaccountterritory", "managed": False},
        ),
    ]
