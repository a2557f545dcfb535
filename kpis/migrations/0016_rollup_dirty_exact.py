from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0015_rollup_dirty_targets_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollupdirty",
            name="exact",
            field=models.BooleanField(
                db_default=False,
                help_text="Only this territory's figures changed, not its ancestors' (an account moved between two "
                "territories below them): the flush recomputes it without adding its ancestors.",
            ),
        ),
    ]
