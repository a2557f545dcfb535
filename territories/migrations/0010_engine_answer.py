"""Each account's last written answer, so that a full run diffs only accounts whose answer changed.

territories_engine_answer holds, per account, the exact signature of its current membership rows
(sorted territory_id * 4 + source code) as the last full run of the active model wrote them. An account
has a row only while its current membership rows are exactly that: triggers on the membership table
forget (delete) the row of every account any other statement touches — an incremental reassignment, an
activation, the admin, a test — and clear the table on TRUNCATE. A missing row only means "diff this
account". Unlogged: a crash empties it, which again only costs a full diff.
"""

from django.db import migrations

FORWARD = r"""
CREATE UNLOGGED TABLE territories_engine_answer (account_id bigint PRIMARY KEY, sig bigint[] NOT NULL);

CREATE FUNCTION territories_engine_answer_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM territories_engine_answer) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM territories_engine_answer a USING old_rows o WHERE a.account_id = o.account_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        DELETE FROM territories_engine_answer a USING new_rows n WHERE a.account_id = n.account_id;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION territories_engine_answer_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE territories_engine_answer;
    RETURN NULL;
END $$;

CREATE TRIGGER territories_engine_answer_ins AFTER INSERT ON territories_accountterritorymembership
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION territories_engine_answer_forget();
CREATE TRIGGER territories_engine_answer_upd AFTER UPDATE ON territories_accountterritorymembership
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION territories_engine_answer_forget();
CREATE TRIGGER territories_engine_answer_del AFTER DELETE ON territories_accountterritorymembership
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION territories_engine_answer_forget();
CREATE TRIGGER territories_engine_answer_trunc AFTER TRUNCATE ON territories_accountterritorymembership
FOR EACH STATEMENT EXECUTE FUNCTION territories_engine_answer_clear();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS territories_engine_answer_trunc ON territories_accountterritorymembership;
DROP TRIGGER IF EXISTS territories_engine_answer_del ON territories_accountterritorymembership;
DROP TRIGGER IF EXISTS territories_engine_answer_upd ON territories_accountterritorymembership;
DROP TRIGGER IF EXISTS territories_engine_answer_ins ON territories_accountterritorymembership;
DROP FUNCTION IF EXISTS territories_engine_answer_clear();
DROP FUNCTION IF EXISTS territories_engine_answer_forget();
DROP TABLE IF EXISTS territories_engine_answer;
"""


class Migration(migrations.Migration):
    dependencies = [("territories", "0009_membership_fewer_indexes")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
