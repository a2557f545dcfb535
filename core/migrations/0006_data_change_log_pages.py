"""The territory page is cached whole (core.page_cache), so what it shows beyond figures joins the change
log: rules and their criteria, pins (overrides, named accounts) and the audit history."""

from django.db import migrations

PAGE_TABLES = [
    "territories_territoryrule",
    "territories_rulecriterion",
    "territories_namedaccount",
    "territories_territoryoverride",
    "core_auditentry",
]

CREATE = "".join(
    f"CREATE TRIGGER {table}_data_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
    " FOR EACH STATEMENT EXECUTE FUNCTION core_data_changed();\n"
    for table in PAGE_TABLES
)
DROP = "".join(f"DROP TRIGGER IF EXISTS {table}_data_changed ON {table};\n" for table in PAGE_TABLES)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_data_change_log_lists"), ("territories", "0009_membership_fewer_indexes")]

    operations = [migrations.RunSQL(CREATE, DROP)]
