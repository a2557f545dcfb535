"""One membership index by territory instead of two: (territory, account) with valid_to included serves the
current rows' lookups (as the partial index on current rows did) and the history's (as (territory,
valid_from) did: nothing read a territory's rows in valid_from order). A first run writes 3 million rows and
an activation 6 million: each index fewer is 0.4–0.9 s less of their sorted builds."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_list_order_indexes"),
        ("territories", "0017_plan_account_answers"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="accountterritorymembership",
            name="membership_territory_idx",
        ),
        migrations.RemoveIndex(
            model_name="accountterritorymembership",
            name="membership_current_terr_idx",
        ),
        migrations.AddIndex(
            model_name="accountterritorymembership",
            index=models.Index(fields=["territory", "account"], include=("valid_to",), name="membership_territory_idx"),
        ),
    ]
