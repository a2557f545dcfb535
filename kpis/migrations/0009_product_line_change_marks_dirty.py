"""A product moved to another product line changes the product line breakdown of every won deal of it, but
is no deal change (kpis/0006 captures none). A statement trigger on accounts_product marks the territories
of those deals dirty instead — those their accounts were ever in, and the deals' product territories, as
the fallback of the delta does — so the next flush recomputes them (targeted, both views). A trigger
cannot enqueue the flush: the beat sweep does, for dirty rows older than 2 minutes (docs/KPIS.md).
"""

from django.db import migrations

TRIGGER = """
CREATE FUNCTION kpis_product_line_change_mark() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM kpis_kpirollup) THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpis_rollupdirty (territory_id, since)
    WITH moved AS (
        SELECT n.id FROM kpis_old_products o JOIN kpis_new_products n ON n.id = o.id
        WHERE n.product_line_id IS DISTINCT FROM o.product_line_id
    ),
    deals AS (SELECT d.id, d.account_id FROM accounts_deal d WHERE d.product_id IN (SELECT id FROM moved))
    SELECT territory_id, now() FROM (
        SELECT mb.territory_id FROM territories_accountterritorymembership mb
        WHERE mb.account_id IN (SELECT account_id FROM deals)
        UNION
        SELECT dm.territory_id FROM territories_dealterritorymembership dm
        WHERE dm.deal_id IN (SELECT id FROM deals)
    ) t
    ON CONFLICT (territory_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER kpis_product_line_change AFTER UPDATE ON accounts_product
    REFERENCING OLD TABLE AS kpis_old_products NEW TABLE AS kpis_new_products
    FOR EACH STATEMENT EXECUTE FUNCTION kpis_product_line_change_mark();
"""

DROP = """
DROP TRIGGER IF EXISTS kpis_product_line_change ON accounts_product;
DROP FUNCTION IF EXISTS kpis_product_line_change_mark();
"""


class Migration(migrations.Migration):
    dependencies = [("kpis", "0008_breakdown_rollup_partitioned"), ("territories", "0009_membership_fewer_indexes")]

    operations = [migrations.RunSQL(sql=TRIGGER, reverse_sql=DROP)]
