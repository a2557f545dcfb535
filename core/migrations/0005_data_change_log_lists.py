"""The list pages cache their bodies under the data version too (core.views_generic), so the tables they
show and filter by join the change log: deals, and the product and campaign catalogue."""

from django.db import migrations

LIST_TABLES = ["accounts_deal", "accounts_product", "accounts_productline", "accounts_campaign"]

CREATE = "".join(
    f"CREATE TRIGGER {table}_data_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
    " FOR EACH STATEMENT EXECUTE FUNCTION core_data_changed();\n"
    for table in LIST_TABLES
)
DROP = "".join(f"DROP TRIGGER IF EXISTS {table}_data_changed ON {table};\n" for table in LIST_TABLES)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_data_change_log")]

    operations = [migrations.RunSQL(CREATE, DROP)]
