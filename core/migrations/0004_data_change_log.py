"""A change log that tells cached page figures when what they show has changed.

Every statement that writes a table the dashboards read (territories, memberships, assignments, targets,
rollups, runs, …) adds one row to core_datachange, from a statement-level trigger, in the writer's own
transaction: inserts never block one another, and the row becomes visible exactly when the change does.
The cache key is (epoch, count, max id) of the log (core.data_version): it changes with every committed
change. A prune deletes old rows and bumps the epoch in one transaction, so a key is never seen twice.
"""

from django.db import migrations

TRACKED_TABLES = [
    "accounts_account",
    "auth_user_groups",
    "core_managerscope",
    "kpis_kpicampaignrollup",
    "kpis_kpidefinition",
    "kpis_kpirollup",
    "kpis_kpitarget",
    "kpis_recomputerun",
    "kpis_rollupdirty",
    "kpis_territorykpi",
    "reps_rep",
    "territories_accountterritorymembership",
    "territories_assignmentoverlap",
    "territories_assignmentrun",
    "territories_repassignment",
    "territories_territory",
    "territories_territorymodel",
]

CREATE = """
CREATE TABLE core_datachange (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE TABLE core_datachangeepoch (id int PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL);
INSERT INTO core_datachangeepoch VALUES (1, 0);
CREATE FUNCTION core_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core_datachange DEFAULT VALUES;
    RETURN NULL;
END $$;
""" + "".join(
    f"CREATE TRIGGER {table}_data_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
    " FOR EACH STATEMENT EXECUTE FUNCTION core_data_changed();\n"
    for table in TRACKED_TABLES
)

DROP = (
    "".join(f"DROP TRIGGER IF EXISTS {table}_data_changed ON {table};\n" for table in TRACKED_TABLES)
    + """
DROP FUNCTION IF EXISTS core_data_changed();
DROP TABLE IF EXISTS core_datachange;
DROP TABLE IF EXISTS core_datachangeepoch;
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_token_scope_manager_scope"),
        ("accounts", "0002_list_order_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("kpis", "0006_deal_change_capture"),
        ("reps", "0001_initial"),
        ("territories", "0009_membership_fewer_indexes"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
