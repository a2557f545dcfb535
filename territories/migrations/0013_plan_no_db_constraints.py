# Plans are derived rows rewritten by every run of the plan: no database FK constraints (their deferred
# per-row checks took a minute at the commit of a 3-million-row plan), no index the model-led one repeats;
# the ORM still cascades.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_list_order_indexes"),
        ("territories", "0012_overlap_no_db_constraints"),
    ]

    operations = [
        migrations.AlterField(
            model_name="plannedaccountterritory",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="plannedaccountterritory",
            name="territory",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="planned_accounts",
                to="territories.territory",
            ),
        ),
        migrations.AlterField(
            model_name="plannedaccountterritory",
            name="territory_model",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="planned_accounts",
                to="territories.territorymodel",
            ),
        ),
        migrations.AlterField(
            model_name="planneddealterritory",
            name="deal",
            field=models.ForeignKey(
                db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.deal"
            ),
        ),
        migrations.AlterField(
            model_name="planneddealterritory",
            name="territory",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="planned_deals",
                to="territories.territory",
            ),
        ),
        migrations.AlterField(
            model_name="planneddealterritory",
            name="territory_model",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="planned_deals",
                to="territories.territorymodel",
            ),
        ),
    ]
