"""TerritoryModel.alignment_changed_at: when the model's territories, rules, criteria, named accounts or
pins last changed, kept by statement-level triggers (whatever writes them: pages, API, admin, SQL), so a
plan's diff can say it predates the plan's current rules."""

from django.db import migrations, models

# (table, how a changed row reaches its model from the transition table `rows`)
TABLES = {
    "territories_territory": "SELECT r.territory_model_id FROM rows r",
    "territories_territoryrule": "SELECT t.territory_model_id FROM rows r JOIN territories_territory t ON t.id = r.territory_id",
    "territories_rulecriterion": (
        "SELECT t.territory_model_id FROM rows r JOIN territories_territoryrule u ON u.id = r.rule_id"
        " JOIN territories_territory t ON t.id = u.territory_id"
    ),
    "territories_namedaccount": "SELECT t.territory_model_id FROM rows r JOIN territories_territory t ON t.id = r.territory_id",
    "territories_territoryoverride": (
        "SELECT t.territory_model_id FROM rows r JOIN territories_territory t ON t.id = r.territory_id"
    ),
}


def forward_sql() -> str:
    statements = []
    for table, models_of_rows in TABLES.items():
        function = f"{table}_alignment_touch"
        statements.append(f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE territories_territorymodel SET alignment_changed_at = clock_timestamp()
    WHERE id IN ({models_of_rows});
    RETURN NULL;
END $$;""")
        for event, transition in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            statements.append(
                f"CREATE TRIGGER {table}_alignment_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {transition} TABLE AS rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
            )
    return "\n".join(statements)


def backward_sql() -> str:
    statements = []
    for table in TABLES:
        for event in ("insert", "update", "delete"):
            statements.append(f"DROP TRIGGER IF EXISTS {table}_alignment_{event} ON {table};")
        statements.append(f"DROP FUNCTION IF EXISTS {table}_alignment_touch();")
    return "\n".join(statements)


class Migration(migrations.Migration):
    dependencies = [
        ("territories", "0018_membership_territory_index_merged"),
    ]

    operations = [
        migrations.AddField(
            model_name="territorymodel",
            name="alignment_changed_at",
            field=models.DateTimeField(
                null=True,
                blank=True,
                editable=False,
                help_text="When its territories, rules, criteria, named accounts or pins last changed (triggers).",
            ),
        ),
        migrations.RunSQL(forward_sql(), backward_sql()),
    ]
