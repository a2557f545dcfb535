from django.db import migrations


class Migration(migrations.Migration):
    """The engine looks compiled rules up by id for every candidate pair."""

    dependencies = [("territories", "0004_engine_cache")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX territories_engine_rule_id ON territories_engine_rule (model_id, rule_id)",
            "DROP INDEX IF EXISTS territories_engine_rule_id",
        )
    ]
