"""The assignment engine: which territories of a model each account (and deal) is in, set-based SQL.

See docs/ASSIGNMENT.md for the semantics. In short, level by level from the roots down:

* candidates at depth d = accounts in the parent (every account for a root) that match a rule of the
  territory, or that are pinned (override) or named in the territory or one of its descendants;
* siblings of one kind partition their parent: per (account, parent, kind) the best candidate wins —
  override, then named, then rules; then higher priority, then specificity (level, then narrower
  range), then the lowest code; every other candidate is reported as an overlap;
* an account's stored (deepest) territories are those it is in with none of their children.

Rules are compiled once per model into territories_engine_rule / territories_engine_key (one
flattened row per rule, criteria as columns), kept until the version counter that triggers bump on
any territory, rule or criterion change moves. The whole computation is one SQL statement (one CTE
chain per depth level) writing into the temporary table _engine_result; a full run and one
account's incremental run differ only in the account scope.
"""

from django.db import connection
from psycopg2.extras import execute_values

from territories.choices import FIELDS_BY_KIND, OPERATORS_BY_FIELD

# Equality fields a rule can be joined on, most selective first, and the account column each reads.
KEY_FIELDS = [
    ("postal_in", "postal"),
    ("cities", "city"),
    ("regions", "region"),
    ("industries", "industry"),
    ("countries", "country"),
    ("btypes", "btype"),
]

SOURCE_OVERRIDE, SOURCE_NAMED, SOURCE_RULE = 0, 1, 2
SOURCE_NAMES = {SOURCE_OVERRIDE: "override", SOURCE_NAMED: "named", SOURCE_RULE: "rule"}
EARLIEST_DATE = "1900-01-01"  # an account's (deal's) first membership ever counts from here


def _allowed_pairs_sql() -> str:
    """(kind, field, operator) triples a criterion may have; anything else matches nothing."""
    rows = [
        f"('{kind.value}', '{field.value}', '{operator.value}')"
        for kind, fields in FIELDS_BY_KIND.items()
        for field in fields
        for operator in OPERATORS_BY_FIELD[field]
    ]
    return "VALUES " + ", ".join(rows)


COMPILE_SQL = f"""
WITH terr AS (
    SELECT t.id, coalesce(t.parent_id, 0) AS parent_key, t.kind, t.priority, t.code,
           (SELECT max(c.depth) FROM territories_territoryclosure c WHERE c.descendant_id = t.id) AS depth,
           EXISTS (SELECT 1 FROM territories_territory ch WHERE ch.parent_id = t.id) AS has_children
    FROM territories_territory t
    WHERE t.territory_model_id = %(model)s AND t.kind <> 'account'
), allowed(kind, field, operator) AS ({_allowed_pairs_sql()}),
crit AS (
    SELECT c.rule_id, c.field, c.operator,
           coalesce((SELECT array_agg(lower(v)) FROM unnest(c.values) v), '{{}}') AS vals,
           c.min_value, c.max_value, lower(c.range_start) AS rs, lower(c.range_end) AS re,
           EXISTS (SELECT 1 FROM allowed a WHERE a.kind = terr.kind AND a.field = c.field
                   AND a.operator = c.operator) AS ok
    FROM territories_rulecriterion c
    JOIN territories_territoryrule r ON r.id = c.rule_id
    JOIN terr ON terr.id = r.territory_id
), flat AS (
    SELECT r.id AS rule_id, t.id AS territory_id, t.parent_key, t.kind, t.depth, t.priority, t.code,
           t.has_children,
           coalesce(max(CASE c.field WHEN 'postal_code' THEN 4 WHEN 'city' THEN 3 WHEN 'region' THEN 2
                                     WHEN 'country' THEN 1 WHEN 'product' THEN 2 WHEN 'product_line' THEN 1
                                     ELSE 0 END), 0) AS level,
           min(CASE
                 WHEN c.field = 'postal_code' AND c.operator = 'in' THEN 0
                 WHEN c.field = 'postal_code' AND c.operator = 'range' AND c.rs ~ '^[0-9]+$' AND c.re ~ '^[0-9]+$'
                   THEN c.re::numeric - c.rs::numeric
                 WHEN c.operator = 'range' AND c.field <> 'postal_code'
                   THEN c.max_value - c.min_value
               END) AS width,
           coalesce(bool_or(NOT c.ok
                            OR (c.field = 'postal_code' AND c.operator = 'range'
                                AND (c.rs = '' OR c.re = '' OR length(c.rs) <> length(c.re)))), false) AS never,
           max(c.vals) FILTER (WHERE c.field = 'country') AS countries,
           max(c.vals) FILTER (WHERE c.field = 'region') AS regions,
           max(c.vals) FILTER (WHERE c.field = 'city') AS cities,
           max(c.vals) FILTER (WHERE c.field = 'postal_code' AND c.operator = 'in') AS postal_in,
           max(c.vals) FILTER (WHERE c.field = 'postal_code' AND c.operator = 'prefix') AS prefixes,
           max(c.rs) FILTER (WHERE c.field = 'postal_code' AND c.operator = 'range') AS pr_start,
           max(c.re) FILTER (WHERE c.field = 'postal_code' AND c.operator = 'range') AS pr_end,
           coalesce(bool_or(c.field = 'employees'), false) AS has_emp,
           max(c.min_value) FILTER (WHERE c.field = 'employees') AS emp_min,
           max(c.max_value) FILTER (WHERE c.field = 'employees') AS emp_max,
           coalesce(bool_or(c.field = 'annual_revenue'), false) AS has_rev,
           max(c.min_value) FILTER (WHERE c.field = 'annual_revenue') AS rev_min,
           max(c.max_value) FILTER (WHERE c.field = 'annual_revenue') AS rev_max,
           max(c.vals) FILTER (WHERE c.field = 'business_type') AS btypes,
           max(c.vals) FILTER (WHERE c.field = 'industry') AS industries,
           max(c.vals) FILTER (WHERE c.field = 'product') AS products,
           max(c.vals) FILTER (WHERE c.field = 'product_line') AS plines
    FROM terr t
    JOIN territories_territoryrule r ON r.territory_id = t.id
    LEFT JOIN crit c ON c.rule_id = r.id
    GROUP BY r.id, t.id, t.parent_key, t.kind, t.depth, t.priority, t.code, t.has_children
)
INSERT INTO territories_engine_rule
SELECT %(model)s, rule_id, territory_id, parent_key, kind, depth, priority, code, has_children, level, width, never,
       CASE WHEN kind = 'product' OR never THEN NULL
            {" ".join(f"WHEN {column} IS NOT NULL THEN '{column}'" for column, _ in KEY_FIELDS)} END,
       countries, regions, cities, postal_in, prefixes, pr_start, pr_end,
       has_emp, emp_min, emp_max, has_rev, rev_min, rev_max, btypes, industries, products, plines
FROM flat
"""

KEYS_SQL = f"""
INSERT INTO territories_engine_key (model_id, depth, field, val, parent_key, rule_id)
SELECT DISTINCT r.model_id, r.depth, r.key_field, v, r.parent_key, r.rule_id
FROM territories_engine_rule r
CROSS JOIN LATERAL unnest(CASE r.key_field
    {" ".join(f"WHEN '{column}' THEN r.{column}" for column, _ in KEY_FIELDS)} END) AS v
WHERE r.model_id = %(model)s AND r.key_field IS NOT NULL
"""


def rules_compile(*, model_id: int, force: bool = False) -> None:
    """Refresh the compiled rules of a model when territories, rules or criteria changed since."""
    with connection.cursor() as cursor:
        if not force:
            cursor.execute(
                "SELECT s.version = v.version FROM territories_engine_version v "
                "LEFT JOIN territories_engine_state s ON s.model_id = %s WHERE v.id = 1",
                [model_id],
            )
            if cursor.fetchone()[0]:
                return
        cursor.execute(
            "INSERT INTO territories_engine_state VALUES (%s, 0) ON CONFLICT (model_id) DO NOTHING", [model_id]
        )
        # Serialise concurrent compilers of one model; re-check once the lock is ours.
        cursor.execute("SELECT version FROM territories_engine_state WHERE model_id = %s FOR UPDATE", [model_id])
        cursor.execute("SELECT version FROM territories_engine_version WHERE id = 1")
        current_version = cursor.fetchone()[0]
        if not force:
            cursor.execute("SELECT version FROM territories_engine_state WHERE model_id = %s", [model_id])
            if cursor.fetchone()[0] == current_version:
                return
        params = {"model": model_id}
        cursor.execute("DELETE FROM territories_engine_key WHERE model_id = %(model)s", params)
        cursor.execute("DELETE FROM territories_engine_rule WHERE model_id = %(model)s", params)
        cursor.execute(COMPILE_SQL, params)
        cursor.execute(KEYS_SQL, params)
        # Fresh statistics, or the planner takes these tables for empty and nests loops over accounts.
        cursor.execute("ANALYZE territories_engine_rule; ANALYZE territories_engine_key")
        cursor.execute(
            "UPDATE territories_engine_state SET version = %s WHERE model_id = %s", [current_version, model_id]
        )


ACCOUNT_MATCH = """NOT r.never
    AND (r.countries IS NULL OR p.country = ANY(r.countries))
    AND (r.regions IS NULL OR p.region = ANY(r.regions))
    AND (r.cities IS NULL OR p.city = ANY(r.cities))
    AND (r.postal_in IS NULL OR p.postal = ANY(r.postal_in))
    AND (r.prefixes IS NULL OR p.postal ^@ ANY(r.prefixes))
    AND (r.pr_start IS NULL OR (length(p.postal) = length(r.pr_start)
         AND p.postal COLLATE "C" >= r.pr_start COLLATE "C" AND p.postal COLLATE "C" <= r.pr_end COLLATE "C"))
    AND (NOT r.has_emp OR (p.employees IS NOT NULL AND (r.emp_min IS NULL OR p.employees >= r.emp_min)
         AND (r.emp_max IS NULL OR p.employees <= r.emp_max)))
    AND (NOT r.has_rev OR (p.revenue IS NOT NULL AND (r.rev_min IS NULL OR p.revenue >= r.rev_min)
         AND (r.rev_max IS NULL OR p.revenue <= r.rev_max)))
    AND (r.btypes IS NULL OR p.btype = ANY(r.btypes))
    AND (r.industries IS NULL OR p.industry = ANY(r.industries))
    AND r.products IS NULL AND r.plines IS NULL"""

DEAL_MATCH = """NOT r.never
    AND (r.products IS NULL OR p.sku = ANY(r.products))
    AND (r.plines IS NULL OR p.pline = ANY(r.plines))"""

RANK_ORDER = 'src, priority DESC, level DESC, width ASC NULLS LAST, code COLLATE "C"'
ACCOUNT_COLUMNS = "account_id, country, region, city, postal, btype, industry, employees, revenue"
WINNER_COLUMNS = (
    "first_value(territory_id) OVER w AS w_tid, first_value(src) OVER w AS w_src, "
    "first_value(priority) OVER w AS w_priority, first_value(level) OVER w AS w_level, "
    "first_value(width) OVER w AS w_width"
)
OVERLAP_REASON = """CASE WHEN w_src = 0 AND src > 0 THEN 'override'
                         WHEN w_src = 1 AND src > 1 THEN 'named'
                         WHEN w_priority > priority THEN 'priority'
                         WHEN w_level > level OR (w_width IS NOT NULL AND (width IS NULL OR w_width < width))
                           THEN 'specificity'
                         ELSE 'tie_break' END"""


ACCOUNTS_SQL = """
CREATE TEMP TABLE _engine_prev ON COMMIT DROP AS
SELECT a.id AS account_id, lower(a.country) AS country, lower(a.region) AS region,
       lower(a.city) AS city, lower(a.postal_code) AS postal, lower(a.business_type) AS btype,
       lower(a.industry) AS industry, a.employees, a.annual_revenue AS revenue,
       0::bigint AS territory_id, 2 AS src
FROM accounts_account a WHERE %(all)s OR a.id = ANY(%(ids)s)
"""

# Overrides (source 0) and named accounts (1) pin an account to a territory and all its ancestors.
FORCED_SQL = """
CREATE TEMP TABLE _engine_forced ON COMMIT DROP AS
SELECT DISTINCT ON (f.account_id, cl.ancestor_id)
       f.account_id, cl.ancestor_id AS territory_id, coalesce(t.parent_id, 0) AS parent_key, t.kind,
       (SELECT max(x.depth) FROM territories_territoryclosure x WHERE x.descendant_id = t.id) AS depth,
       t.priority, t.code,
       EXISTS (SELECT 1 FROM territories_territory ch WHERE ch.parent_id = t.id) AS has_children, f.src
FROM (
    SELECT o.account_id, o.territory_id, 0 AS src FROM territories_territoryoverride o
    JOIN territories_territory ot ON ot.id = o.territory_id
    WHERE ot.territory_model_id = %(model)s AND (%(all)s OR o.account_id = ANY(%(ids)s))
    UNION ALL
    SELECT n.account_id, n.territory_id, 1 FROM territories_namedaccount n
    JOIN territories_territory nt ON nt.id = n.territory_id
    WHERE nt.territory_model_id = %(model)s AND (%(all)s OR n.account_id = ANY(%(ids)s))
) f
JOIN territories_territoryclosure cl ON cl.descendant_id = f.territory_id
JOIN territories_territory t ON t.id = cl.ancestor_id AND t.kind <> 'product'
ORDER BY f.account_id, cl.ancestor_id, f.src
"""

DEALS_SQL = """
CREATE TEMP TABLE _engine_deal ON COMMIT DROP AS
SELECT d.id AS deal_id, d.account_id, lower(pr.sku) AS sku, lower(pl.code) AS pline, 0::bigint AS territory_id
FROM accounts_deal d
LEFT JOIN accounts_product pr ON pr.id = d.product_id
LEFT JOIN accounts_productline pl ON pl.id = pr.product_line_id
WHERE %(all)s OR d.account_id = ANY(%(ids)s)
"""

_PREV_COLUMNS = ", ".join("p." + c for c in ACCOUNT_COLUMNS.split(", "))


def _level_statements(depth: int, key_fields: set[str], keyless: bool) -> list[str]:
    """Statements for one depth level, reading _engine_prev (accounts in the parents) and writing
    _engine_result rows plus _engine_next (accounts in territories that have children). Only the join
    branches some rule at this depth needs are included."""
    keyed = [
        f"""SELECT p.*, k.rule_id FROM _engine_prev p
            JOIN territories_engine_key k ON k.model_id = %(model)s AND k.depth = {depth} AND k.field = '{column}'
             AND k.val = p.{account_column} AND k.parent_key = p.territory_id"""
        for column, account_column in KEY_FIELDS
        if column in key_fields
    ]
    if keyless or not keyed:
        keyed.append(
            f"""SELECT p.*, r.rule_id FROM _engine_prev p
            JOIN territories_engine_rule r ON r.model_id = %(model)s AND r.depth = {depth}
             AND r.parent_key = p.territory_id AND r.key_field IS NULL AND r.kind <> 'product'"""
        )
    pairs = " UNION ALL ".join(keyed)
    return [
        f"""CREATE TEMP TABLE _engine_rank ON COMMIT DROP AS
            SELECT c.*, row_number() OVER w AS rn, {WINNER_COLUMNS}
            FROM (
                SELECT {_PREV_COLUMNS}, r.territory_id, r.parent_key, r.kind, 2 AS src, r.priority, r.level, r.width,
                       r.code, r.has_children
                FROM ({pairs}) p JOIN territories_engine_rule r ON r.model_id = %(model)s AND r.rule_id = p.rule_id
                WHERE {ACCOUNT_MATCH}
                UNION ALL
                SELECT {_PREV_COLUMNS}, f.territory_id, f.parent_key, f.kind, f.src, f.priority, 0, NULL, f.code,
                       f.has_children
                FROM _engine_forced f
                JOIN _engine_prev p ON p.account_id = f.account_id AND p.territory_id = f.parent_key
                WHERE f.depth = {depth}
            ) c
            WINDOW w AS (PARTITION BY account_id, parent_key, kind ORDER BY {RANK_ORDER})""",
        """INSERT INTO _engine_result SELECT 'deep', account_id, territory_id, src, NULL, NULL
           FROM _engine_rank WHERE rn = 1 AND NOT has_children""",
        """INSERT INTO _engine_result SELECT 'deep', p.account_id, p.territory_id, p.src, NULL, NULL
           FROM _engine_prev p WHERE p.territory_id <> 0 AND NOT EXISTS (
               SELECT 1 FROM _engine_rank w WHERE w.rn = 1 AND w.account_id = p.account_id
               AND w.parent_key = p.territory_id)""",
        f"""INSERT INTO _engine_result
            SELECT DISTINCT ON (account_id, territory_id) 'overlap', account_id, w_tid, src, territory_id,
                   {OVERLAP_REASON}
            FROM _engine_rank WHERE rn > 1 AND territory_id <> w_tid
            ORDER BY account_id, territory_id, rn""",
    ]


def _deal_level_statements(depth: int) -> list[str]:
    """Deals in product territories at this depth: their product matches and they are in the parent
    (a product parent) or their account is (any other parent). Reads _engine_prev (accounts) too."""
    return [
        f"""CREATE TEMP TABLE _engine_drank ON COMMIT DROP AS
            SELECT c.*, row_number() OVER (PARTITION BY deal_id, parent_key ORDER BY {RANK_ORDER}) AS rn
            FROM (
                SELECT p.deal_id, p.account_id, p.sku, p.pline, r.territory_id, r.parent_key, r.priority, r.level,
                       r.width, r.code, r.has_children, 2 AS src
                FROM (
                    SELECT d.deal_id, d.account_id, d.sku, d.pline, d.territory_id FROM _engine_dprev d
                    UNION ALL
                    SELECT d.deal_id, d.account_id, d.sku, d.pline, a.territory_id
                    FROM _engine_deal d JOIN _engine_prev a ON a.account_id = d.account_id
                    WHERE a.territory_id <> 0 AND a.territory_id IN (
                        SELECT parent_key FROM territories_engine_rule
                        WHERE model_id = %(model)s AND depth = {depth} AND kind = 'product')
                ) p
                JOIN territories_engine_rule r ON r.model_id = %(model)s AND r.depth = {depth}
                 AND r.parent_key = p.territory_id AND r.kind = 'product'
                WHERE {DEAL_MATCH}
            ) c""",
        """INSERT INTO _engine_result SELECT 'deal', deal_id, territory_id, 2, NULL, NULL
           FROM _engine_drank WHERE rn = 1 AND NOT has_children""",
        """INSERT INTO _engine_result SELECT 'deal', p.deal_id, p.territory_id, 2, NULL, NULL
           FROM _engine_dprev p WHERE p.territory_id <> 0 AND NOT EXISTS (
               SELECT 1 FROM _engine_drank w WHERE w.rn = 1 AND w.deal_id = p.deal_id
               AND w.parent_key = p.territory_id)""",
        """CREATE TEMP TABLE _engine_dnext ON COMMIT DROP AS
           SELECT deal_id, account_id, sku, pline, territory_id FROM _engine_drank WHERE rn = 1 AND has_children""",
        "DROP TABLE _engine_dprev, _engine_drank",
        "ALTER TABLE _engine_dnext RENAME TO _engine_dprev",
    ]


def _incremental_query(max_depth: int, has_products: bool) -> str:
    """The same computation as one statement (a CTE chain per depth level) for a few accounts: the
    planner's row guesses for CTEs are tiny, which suits index lookups for a handful of accounts and
    would be ruinous for all of them. Yields deep / overlap / deal rows."""
    ctes = [
        """acc AS (
            SELECT a.id AS account_id, lower(a.country) AS country, lower(a.region) AS region,
                   lower(a.city) AS city, lower(a.postal_code) AS postal, lower(a.business_type) AS btype,
                   lower(a.industry) AS industry, a.employees, a.annual_revenue AS revenue,
                   0::bigint AS territory_id, 2 AS src
            FROM accounts_account a WHERE %(all)s OR a.id = ANY(%(ids)s)
        )""",
        """forced AS (
            SELECT DISTINCT ON (f.account_id, cl.ancestor_id)
                   f.account_id, cl.ancestor_id AS territory_id, coalesce(t.parent_id, 0) AS parent_key, t.kind,
                   (SELECT max(x.depth) FROM territories_territoryclosure x WHERE x.descendant_id = t.id) AS depth,
                   t.priority, t.code,
                   EXISTS (SELECT 1 FROM territories_territory ch WHERE ch.parent_id = t.id) AS has_children, f.src
            FROM (
                SELECT o.account_id, o.territory_id, 0 AS src FROM territories_territoryoverride o
                JOIN territories_territory ot ON ot.id = o.territory_id
                WHERE ot.territory_model_id = %(model)s AND (%(all)s OR o.account_id = ANY(%(ids)s))
                UNION ALL
                SELECT n.account_id, n.territory_id, 1 FROM territories_namedaccount n
                JOIN territories_territory nt ON nt.id = n.territory_id
                WHERE nt.territory_model_id = %(model)s AND (%(all)s OR n.account_id = ANY(%(ids)s))
            ) f
            JOIN territories_territoryclosure cl ON cl.descendant_id = f.territory_id
            JOIN territories_territory t ON t.id = cl.ancestor_id AND t.kind <> 'product'
            ORDER BY f.account_id, cl.ancestor_id, f.src
        )""",
    ]
    if has_products:
        ctes.append(
            """deal AS (
                SELECT d.id AS deal_id, d.account_id, lower(pr.sku) AS sku, lower(pl.code) AS pline,
                       0::bigint AS territory_id
                FROM accounts_deal d
                LEFT JOIN accounts_product pr ON pr.id = d.product_id
                LEFT JOIN accounts_productline pl ON pl.id = pr.product_line_id
                WHERE %(all)s OR d.account_id = ANY(%(ids)s)
            )"""
        )
    outputs = []
    prev = "acc"
    deal_prev = "deal"
    for depth in range(max_depth + 1):
        keyed = [
            f"""SELECT p.*, k.rule_id FROM {prev} p
                JOIN territories_engine_key k ON k.model_id = %(model)s AND k.depth = {depth}
                 AND k.field = '{column}' AND k.val = p.{account_column} AND k.parent_key = p.territory_id"""
            for column, account_column in KEY_FIELDS
        ]
        keyless = f"""SELECT p.*, r.rule_id FROM {prev} p
            JOIN territories_engine_rule r ON r.model_id = %(model)s AND r.depth = {depth}
             AND r.parent_key = p.territory_id AND r.key_field IS NULL AND r.kind <> 'product'"""
        pairs = " UNION ALL ".join([*keyed, keyless])
        ctes.append(
            f"""cand{depth} AS (
                SELECT {", ".join("p." + c for c in ACCOUNT_COLUMNS.split(", "))}, r.territory_id, r.parent_key,
                       r.kind, 2 AS src, r.priority, r.level, r.width, r.code, r.has_children
                FROM ({pairs}) p JOIN territories_engine_rule r ON r.model_id = %(model)s AND r.rule_id = p.rule_id
                WHERE {ACCOUNT_MATCH}
                UNION ALL
                SELECT {", ".join("p." + c for c in ACCOUNT_COLUMNS.split(", "))}, f.territory_id, f.parent_key,
                       f.kind, f.src, f.priority, 0, NULL, f.code, f.has_children
                FROM forced f JOIN {prev} p ON p.account_id = f.account_id AND p.territory_id = f.parent_key
                WHERE f.depth = {depth}
            )""",
        )
        ctes.append(
            f"""rank{depth} AS (
                SELECT c.*, row_number() OVER w AS rn, {WINNER_COLUMNS}
                FROM cand{depth} c
                WINDOW w AS (PARTITION BY account_id, parent_key, kind ORDER BY {RANK_ORDER})
            )"""
        )
        ctes.append(f"win{depth} AS (SELECT * FROM rank{depth} WHERE rn = 1)")
        outputs.append(
            f"SELECT 'deep', account_id, territory_id, src, NULL::bigint, NULL FROM win{depth} WHERE NOT has_children"
        )
        if depth > 0:
            outputs.append(
                f"""SELECT 'deep', p.account_id, p.territory_id, p.src, NULL::bigint, NULL FROM {prev} p
                    WHERE NOT EXISTS (SELECT 1 FROM win{depth} w WHERE w.account_id = p.account_id
                                      AND w.parent_key = p.territory_id)"""
            )
        outputs.append(
            f"""SELECT DISTINCT ON (account_id, territory_id) 'overlap', account_id, w_tid, src, territory_id,
                       {OVERLAP_REASON}
                FROM rank{depth} WHERE rn > 1 AND territory_id <> w_tid
                ORDER BY account_id, territory_id, rn"""
        )
        if has_products:
            deal_cols = "p.deal_id, p.account_id, p.sku, p.pline"
            ctes.append(
                f"""dcand{depth} AS (
                    SELECT {deal_cols}, r.territory_id, r.parent_key, r.priority, r.level, r.width, r.code,
                           r.has_children, 2 AS src
                    FROM (
                        SELECT d.deal_id, d.account_id, d.sku, d.pline, d.territory_id FROM {deal_prev} d
                        UNION ALL
                        SELECT d.deal_id, d.account_id, d.sku, d.pline, a.territory_id
                        FROM deal d JOIN {prev} a ON a.account_id = d.account_id
                        WHERE a.territory_id <> 0 AND a.territory_id IN
                              (SELECT parent_key FROM territories_engine_rule
                               WHERE model_id = %(model)s AND depth = {depth} AND kind = 'product')
                    ) p
                    JOIN territories_engine_rule r ON r.model_id = %(model)s AND r.depth = {depth}
                     AND r.parent_key = p.territory_id AND r.kind = 'product'
                    WHERE {DEAL_MATCH}
                )"""
            )
            ctes.append(
                f"""drank{depth} AS (
                    SELECT c.*, row_number() OVER (PARTITION BY deal_id, parent_key ORDER BY {RANK_ORDER}) AS rn
                    FROM dcand{depth} c
                )"""
            )
            ctes.append(f"dwin{depth} AS (SELECT * FROM drank{depth} WHERE rn = 1)")
            outputs.append(
                f"SELECT 'deal', deal_id, territory_id, 2, NULL::bigint, NULL FROM dwin{depth} WHERE NOT has_children"
            )
            if depth > 0:
                outputs.append(
                    f"""SELECT 'deal', p.deal_id, p.territory_id, 2, NULL::bigint, NULL FROM {deal_prev} p
                        WHERE NOT EXISTS (SELECT 1 FROM dwin{depth} w WHERE w.deal_id = p.deal_id
                                          AND w.parent_key = p.territory_id)"""
                )
            ctes.append(
                f"dnext{depth} AS (SELECT deal_id, account_id, sku, pline, territory_id FROM dwin{depth}"
                " WHERE has_children)"
            )
            deal_prev = f"dnext{depth}"
        ctes.append(f"next{depth} AS (SELECT {ACCOUNT_COLUMNS}, territory_id, src FROM win{depth} WHERE has_children)")
        prev = f"next{depth}"
    return "WITH " + ",\n".join(ctes) + "\n" + "\nUNION ALL\n".join(f"({output})" for output in outputs)


def assignment_compute(*, model_id: int, account_ids: list[int] | None = None) -> dict:
    """Fill the temporary table _engine_result(row_type, a, b, c, d, e) for a model within the transaction.

    row_type 'deep': (account, territory, source); 'overlap': (account, winner, source, loser, reason);
    'deal': (deal, territory). A statement per step and depth level, on temporary tables (analysed on
    full runs so the planner sees real sizes). Returns counts.
    """
    rules_compile(model_id=model_id)
    full = account_ids is None
    params = {"model": model_id, "all": full, "ids": list(account_ids or [])}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(c.depth), -1), coalesce(bool_or(t.kind = 'product'), false)"
            " FROM territories_territory t"
            " JOIN territories_territoryclosure c ON c.descendant_id = t.id WHERE t.territory_model_id = %s",
            [model_id],
        )
        max_depth, has_products = cursor.fetchone()
        cursor.execute(
            "DROP TABLE IF EXISTS _engine_result, _engine_prev, _engine_forced, _engine_deal, _engine_dprev;"
            "CREATE TEMP TABLE _engine_result (row_type text, a bigint, b bigint, c integer, d bigint, e text)"
            " ON COMMIT DROP"
        )
        if not full:
            if max_depth >= 0:
                # Prepared once per connection: planning the long statement costs more than running it.
                name = f"territories_engine_incremental_{max_depth}_{int(bool(has_products))}"
                cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", [name])
                if not cursor.fetchone()[0]:
                    query = (
                        _incremental_query(max_depth, bool(has_products))
                        .replace("%(model)s", "$1")
                        .replace("%(ids)s", "$2")
                        .replace("%(all)s", "false")
                    )
                    cursor.execute(f"PREPARE {name} (bigint, bigint[]) AS SELECT * FROM ({query}) AS x")
                cursor.execute(f"EXECUTE {name}(%s, %s)", [model_id, params["ids"]])
                rows = cursor.fetchall()
                if rows:
                    execute_values(cursor.cursor, "INSERT INTO _engine_result VALUES %s", rows, page_size=len(rows))
            cursor.execute("SELECT row_type, count(*) FROM _engine_result GROUP BY row_type")
            counts = dict(cursor.fetchall())
            return {"deep": counts.get("deep", 0), "overlaps": counts.get("overlap", 0), "deals": counts.get("deal", 0)}
        cursor.execute(
            "SELECT depth, coalesce(key_field, '') FROM territories_engine_rule"
            " WHERE model_id = %s AND kind <> 'product'"
            " GROUP BY 1, 2",
            [model_id],
        )
        branches = {}
        for depth, key_field in cursor.fetchall():
            branches.setdefault(depth, set()).add(key_field)
        if max_depth >= 0:
            cursor.execute(ACCOUNTS_SQL, params)
            cursor.execute(FORCED_SQL, params)
            if has_products:
                cursor.execute(DEALS_SQL, params)
                cursor.execute("CREATE TEMP TABLE _engine_dprev ON COMMIT DROP AS SELECT * FROM _engine_deal")
            cursor.execute("ANALYZE _engine_prev; ANALYZE _engine_forced")
            if full:
                cursor.execute("ANALYZE territories_engine_rule; ANALYZE territories_engine_key")
                if has_products:
                    cursor.execute("ANALYZE _engine_deal; ANALYZE _engine_dprev")
        for depth in range(max_depth + 1):
            fields = branches.get(depth, set())
            for statement in _level_statements(depth, fields, "" in fields):
                cursor.execute(statement, params)
            if has_products:
                for statement in _deal_level_statements(depth):
                    cursor.execute(statement, params)
            cursor.execute(
                f"""CREATE TEMP TABLE _engine_next ON COMMIT DROP AS
                    SELECT {ACCOUNT_COLUMNS}, territory_id, src FROM _engine_rank WHERE rn = 1 AND has_children;
                    DROP TABLE _engine_prev, _engine_rank;
                    ALTER TABLE _engine_next RENAME TO _engine_prev"""
            )
            # Real sizes for the next level's plan (a few rows on the incremental path: cheap).
            cursor.execute("ANALYZE _engine_prev")
            if has_products:
                cursor.execute("ANALYZE _engine_dprev")
        cursor.execute("SELECT row_type, count(*) FROM _engine_result GROUP BY row_type")
        counts = dict(cursor.fetchall())
    return {"deep": counts.get("deep", 0), "overlaps": counts.get("overlap", 0), "deals": counts.get("deal", 0)}
