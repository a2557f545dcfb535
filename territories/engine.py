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
any territory, rule or criterion change moves. The computation writes the temporary table
_engine_result: a full run with one statement per depth level over temporary tables — over one
representative per class of accounts (_class_compute) — and a few accounts' incremental run as one
prepared statement of the same level SQL as CTEs.
"""

from django.db import DatabaseError, connection, transaction
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

_IN_FIELDS = ", ".join(f"('{column}', g.{column})" for column, _ in KEY_FIELDS)

# One probe row per (rule, distinct key value), or ('', '') for a rule without an equality criterion;
# rules that can match nothing (never, an empty key list) and product rules get none. A sibling group
# (parent, kind, depth) is exclusive when it has one rule, or one 'in' field that every rule has and no
# value of which appears in two rules, or one numeric range that every rule has, pairwise disjoint.
PROBE_SQL = f"""
WITH g AS (
    SELECT r.*, ((r.countries IS NOT NULL)::int + (r.regions IS NOT NULL)::int + (r.cities IS NOT NULL)::int
                 + (r.postal_in IS NOT NULL)::int + (r.prefixes IS NOT NULL)::int + (r.pr_start IS NOT NULL)::int
                 + r.has_emp::int + r.has_rev::int + (r.btypes IS NOT NULL)::int
                 + (r.industries IS NOT NULL)::int) AS n_crit,
           CASE r.key_field {" ".join(f"WHEN '{column}' THEN r.{column}" for column, _ in KEY_FIELDS)} END AS keyvals
    FROM territories_engine_rule r
    WHERE r.model_id = %(model)s AND r.kind <> 'product' AND NOT r.never
), grp AS (
    SELECT parent_key, kind, depth, count(*) AS n FROM g GROUP BY 1, 2, 3
), invals AS (
    SELECT g.parent_key, g.kind, g.depth, f.field, count(DISTINCT g.rule_id) AS rules_with,
           count(DISTINCT (g.rule_id, v)) AS pairs, count(DISTINCT v) AS distinct_vals
    FROM g CROSS JOIN LATERAL (VALUES {_IN_FIELDS}) f(field, arr)
    LEFT JOIN LATERAL unnest(f.arr) v ON true
    WHERE f.arr IS NOT NULL
    GROUP BY 1, 2, 3, 4
), rng AS (
    SELECT g.parent_key, g.kind, g.depth, f.field, f.has, f.lo, row_number() OVER w AS rn, lag(f.hi) OVER w AS prev_hi
    FROM g CROSS JOIN LATERAL (VALUES ('emp', g.has_emp, g.emp_min, g.emp_max),
                                      ('rev', g.has_rev, g.rev_min, g.rev_max)) f(field, has, lo, hi)
    WINDOW w AS (PARTITION BY g.parent_key, g.kind, g.depth, f.field ORDER BY f.lo NULLS FIRST, f.hi NULLS LAST)
), exclusive AS (
    SELECT i.parent_key, i.kind, i.depth FROM invals i
    JOIN grp ON grp.parent_key = i.parent_key AND grp.kind = i.kind AND grp.depth = i.depth
    WHERE i.rules_with = grp.n AND i.pairs = i.distinct_vals
    UNION
    SELECT parent_key, kind, depth FROM rng GROUP BY parent_key, kind, depth, field
    HAVING bool_and(has AND (rn = 1 OR (lo IS NOT NULL AND prev_hi IS NOT NULL AND lo > prev_hi)))
), ex AS (
    SELECT grp.parent_key, grp.kind, grp.depth, grp.n = 1 OR x.parent_key IS NOT NULL AS excl
    FROM grp LEFT JOIN exclusive x ON x.parent_key = grp.parent_key AND x.kind = grp.kind AND x.depth = grp.depth
)
INSERT INTO territories_engine_probe
SELECT %(model)s, g.depth, g.parent_key, coalesce(g.key_field, ''), v.val, g.rule_id, g.territory_id, g.kind,
       g.priority, g.level, g.width, g.code, g.has_children, ex.excl, g.n_crit > (g.key_field IS NOT NULL)::int,
       g.parent_key::text || '|' || coalesce(g.key_field, '') || '|' || v.val
FROM g
JOIN ex ON ex.parent_key = g.parent_key AND ex.kind = g.kind AND ex.depth = g.depth
CROSS JOIN LATERAL (SELECT DISTINCT u FROM unnest(g.keyvals) u WHERE g.key_field IS NOT NULL
                    UNION ALL SELECT '' WHERE g.key_field IS NULL) v(val)
"""

BRANCH_SQL = """
INSERT INTO territories_engine_branch
SELECT DISTINCT model_id, depth, parent_key, field FROM territories_engine_probe WHERE model_id = %(model)s
"""


SHAPE_SQL = """
UPDATE territories_engine_state s SET version = %(version)s, max_depth = x.max_depth, has_products = x.has_products
FROM (SELECT coalesce(max(c.depth), -1) AS max_depth, coalesce(bool_or(t.kind = 'product'), false) AS has_products
      FROM territories_territory t JOIN territories_territoryclosure c ON c.descendant_id = t.id
      WHERE t.territory_model_id = %(model)s) x
WHERE s.model_id = %(model)s
RETURNING s.max_depth, s.has_products
"""


def rules_compile(*, model_id: int, force: bool = False) -> tuple[int, bool]:
    """Refresh the compiled rules of a model when territories, rules or criteria changed since.
    Returns the model's shape: (deepest level, -1 without territories; has product territories)."""
    with connection.cursor() as cursor:
        if not force:
            cursor.execute(
                "SELECT s.version = v.version, s.max_depth, s.has_products FROM territories_engine_version v "
                "LEFT JOIN territories_engine_state s ON s.model_id = %s WHERE v.id = 1",
                [model_id],
            )
            fresh, max_depth, has_products = cursor.fetchone()
            if fresh:
                return max_depth, has_products
        cursor.execute(
            "INSERT INTO territories_engine_state (model_id, version) VALUES (%s, 0) ON CONFLICT (model_id) DO NOTHING",
            [model_id],
        )
        # Serialise concurrent compilers of one model; re-check once the lock is ours.
        cursor.execute("SELECT version FROM territories_engine_state WHERE model_id = %s FOR UPDATE", [model_id])
        cursor.execute("SELECT version FROM territories_engine_version WHERE id = 1")
        current_version = cursor.fetchone()[0]
        if not force:
            cursor.execute(
                "SELECT version, max_depth, has_products FROM territories_engine_state WHERE model_id = %s", [model_id]
            )
            version, max_depth, has_products = cursor.fetchone()
            if version == current_version:
                return max_depth, has_products
        params = {"model": model_id, "version": current_version}
        for table in ("branch", "probe", "rule"):
            cursor.execute(f"DELETE FROM territories_engine_{table} WHERE model_id = %(model)s", params)
        # Hash joins: right after territories were created (a model copied) their statistics are stale, and
        # the planner, estimating one territory, nested loops over thousands (0.8–1.8 s for 5,000). No JIT
        # either: disabled nested loops inflate the costs past its threshold (compiling takes 100s of ms).
        cursor.execute("SELECT current_setting('enable_nestloop'), current_setting('jit')")
        nestloop, jit = cursor.fetchone()
        cursor.execute("SET LOCAL enable_nestloop = off; SET LOCAL jit = off")
        cursor.execute(COMPILE_SQL, params)
        cursor.execute(PROBE_SQL, params)
        cursor.execute(BRANCH_SQL, params)
        cursor.execute("SELECT set_config('enable_nestloop', %s, true), set_config('jit', %s, true)", [nestloop, jit])
        # Fresh statistics, or the planner takes these tables for empty and nests loops over accounts.
        cursor.execute(
            "ANALYZE territories_engine_rule; ANALYZE territories_engine_probe; ANALYZE territories_engine_branch"
        )
        cursor.execute(SHAPE_SQL, params)
        max_depth, has_products = cursor.fetchone()
    return max_depth, has_products


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


ACCOUNTS_SELECT = """
    SELECT a.id AS account_id, lower(a.country) AS country, lower(a.region) AS region,
           lower(a.city) AS city, lower(a.postal_code) AS postal, lower(a.business_type) AS btype,
           lower(a.industry) AS industry, a.employees, a.annual_revenue AS revenue,
           0::bigint AS territory_id, 2 AS src, true AS has_children
    FROM accounts_account a WHERE %(all)s OR a.id = ANY(%(ids)s)"""

# Overrides (source 0) and named accounts (1) pin an account to a territory and all its ancestors.
FORCED_SELECT = """
    SELECT DISTINCT ON (f.account_id, cl.ancestor_id)
           f.account_id, cl.ancestor_id AS territory_id, coalesce(t.parent_id, 0) AS parent_key, t.kind::text AS kind,
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
    ORDER BY f.account_id, cl.ancestor_id, f.src"""

DEALS_SELECT = """
    SELECT d.id AS deal_id, d.account_id, lower(pr.sku) AS sku, lower(pl.code) AS pline, 0::bigint AS territory_id
    FROM accounts_deal d
    LEFT JOIN accounts_product pr ON pr.id = d.product_id
    LEFT JOIN accounts_productline pl ON pl.id = pr.product_line_id
    WHERE %(all)s OR d.account_id = ANY(%(ids)s)"""

_ATTRS = ACCOUNT_COLUMNS.split(", ")
_PREV_COLUMNS = ", ".join(f"p.{column}" for column in _ATTRS)
_CAND_COLUMNS = ", ".join(
    [*_ATTRS, "territory_id", "parent_key", "kind", "src", "priority", "level", "width", "code", "has_children"]
)
_KEY_VALUE = (
    "CASE b.field " + " ".join(f"WHEN '{column}' THEN p.{account}" for column, account in KEY_FIELDS) + " ELSE '' END"
)
_PREV_TABLE_COLUMNS = """account_id bigint, country text, region text, city text, postal text, btype text,
    industry text,
    employees integer, revenue numeric, territory_id bigint, src integer, has_children boolean"""
_NEXT_COLUMNS = ", ".join([*_ATTRS, "territory_id", "src", "has_children"])

# One level, as selects over named relations: prev (the accounts in the parents, rows with has_children),
# forced (pins), and the level's own cand / pin / rank / win, so that the full run (temporary tables and
# one statement per level) and the incremental path (one CTE chain) share the very same SQL.


def _cand_sql(depth: int, prev: str, pin: str) -> str:
    """Rule candidates: prev joins its parent's branches (the key fields the children's rules use), then the
    probe rows on the one composite key parent|field|value; rules with criteria beyond the key are checked
    against their compiled row. `ranked`: the candidate's group can hold several candidates (a
    non-exclusive group, or the account is pinned in it), so it goes through ranking."""
    return f"""SELECT {_PREV_COLUMNS}, k.territory_id, k.parent_key, k.kind, 2 AS src, k.priority, k.level, k.width,
                   k.code, k.has_children,
                   NOT k.excl OR (p.account_id, k.parent_key, k.kind) IN (
                       SELECT f.account_id, f.parent_key, f.kind FROM {pin} f) AS ranked
            FROM {prev} p
            JOIN territories_engine_branch b ON b.model_id = %(model)s AND b.depth = {depth}
             AND b.parent_key = p.territory_id
            JOIN territories_engine_probe k ON k.model_id = %(model)s AND k.depth = {depth}
             AND k.lookup = p.territory_id::text || '|' || b.field || '|' || ({_KEY_VALUE})
            LEFT JOIN territories_engine_rule r ON k.chk AND r.model_id = %(model)s AND r.rule_id = k.rule_id
            WHERE p.has_children AND (NOT k.chk OR ({ACCOUNT_MATCH}))"""


def _pin_sql(depth: int, prev: str, forced: str) -> str:
    return f"""SELECT {_PREV_COLUMNS}, f.territory_id, f.parent_key, f.kind, f.src, f.priority, 0 AS level,
                   NULL::numeric AS width, f.code, f.has_children
            FROM {forced} f JOIN {prev} p ON p.account_id = f.account_id AND p.territory_id = f.parent_key
            WHERE f.depth = {depth} AND p.has_children"""


def _rank_sql(cand: str, pin: str) -> str:
    """Only groups that can hold several candidates are ranked."""
    return f"""SELECT c.*, row_number() OVER w AS rn, {WINNER_COLUMNS}
            FROM (
                SELECT {_CAND_COLUMNS} FROM {cand} WHERE ranked
                UNION ALL
                SELECT {_CAND_COLUMNS} FROM {pin}
            ) c
            WINDOW w AS (PARTITION BY account_id, parent_key, kind ORDER BY {RANK_ORDER})"""


def _win_sql(cand: str, rank: str, condition: str = "true") -> str:
    """The winners: unranked candidates and the first of each ranked group."""
    return f"""SELECT {_CAND_COLUMNS} FROM {cand} WHERE NOT ranked AND {condition}
            UNION ALL
            SELECT {_CAND_COLUMNS} FROM {rank} WHERE rn = 1 AND {condition}"""


def _overlap_sql(rank: str) -> str:
    return f"""SELECT DISTINCT ON (account_id, territory_id) 'overlap', account_id, w_tid, src, territory_id,
                   {OVERLAP_REASON}
            FROM {rank} WHERE rn > 1 AND territory_id <> w_tid
            ORDER BY account_id, territory_id, rn"""


def _deep_sql(depth: int, prev: str, cand: str, pin: str, rank: str) -> list[str]:
    """Winners without children, and (below the roots) parents none of whose children took the account
    (no candidate and no pin under it: any candidate means some child wins)."""
    selects = [
        f"""SELECT 'deep', account_id, territory_id, src, NULL::bigint, NULL
            FROM ({_win_sql(cand, rank, "NOT has_children")}) w"""
    ]
    if depth > 0:
        selects.append(
            f"""SELECT 'deep', p.account_id, p.territory_id, p.src, NULL::bigint, NULL FROM {prev} p
                WHERE p.has_children
                  AND NOT EXISTS (SELECT 1 FROM {cand} c WHERE c.account_id = p.account_id
                                  AND c.parent_key = p.territory_id)
                  AND NOT EXISTS (SELECT 1 FROM {pin} f WHERE f.account_id = p.account_id
                                  AND f.parent_key = p.territory_id)"""
        )
    return selects


def _deal_cand_sql(depth: int, deal_prev: str, deals: str, prev: str) -> str:
    """Deals in product territories at this depth: their product matches and they are in the parent
    (a product parent) or their account is (any other parent)."""
    return f"""SELECT c.*, row_number() OVER (PARTITION BY deal_id, parent_key ORDER BY {RANK_ORDER}) AS rn
            FROM (
                SELECT p.deal_id, p.account_id, p.sku, p.pline, r.territory_id, r.parent_key, r.priority, r.level,
                       r.width, r.code, r.has_children, 2 AS src
                FROM (
                    SELECT d.deal_id, d.account_id, d.sku, d.pline, d.territory_id FROM {deal_prev} d
                    UNION ALL
                    SELECT d.deal_id, d.account_id, d.sku, d.pline, a.territory_id
                    FROM {deals} d JOIN {prev} a ON a.account_id = d.account_id
                    WHERE a.territory_id <> 0 AND a.territory_id IN (
                        SELECT parent_key FROM territories_engine_rule
                        WHERE model_id = %(model)s AND depth = {depth} AND kind = 'product')
                ) p
                JOIN territories_engine_rule r ON r.model_id = %(model)s AND r.depth = {depth}
                 AND r.parent_key = p.territory_id AND r.kind = 'product'
                WHERE {DEAL_MATCH}
            ) c"""


def _deal_deep_sql(depth: int, deal_prev: str, drank: str) -> list[str]:
    selects = [
        f"SELECT 'deal', deal_id, territory_id, 2, NULL::bigint, NULL FROM {drank} WHERE rn = 1 AND NOT has_children"
    ]
    if depth > 0:
        selects.append(
            f"""SELECT 'deal', p.deal_id, p.territory_id, 2, NULL::bigint, NULL FROM {deal_prev} p
                WHERE NOT EXISTS (SELECT 1 FROM {drank} w WHERE w.rn = 1 AND w.deal_id = p.deal_id
                                  AND w.parent_key = p.territory_id)"""
        )
    return selects


def _compute_parts(max_depth: int, has_products: bool) -> tuple[list[str], list[str]]:
    """The computation as one CTE chain plus output selects of (row_type, a, b, c, d, e) rows (the
    incremental path). Parameters: %(model)s, %(all)s, %(ids)s."""
    ctes = [f"acc AS ({ACCOUNTS_SELECT})", f"forced AS ({FORCED_SELECT})"]
    if has_products:
        ctes.append(f"deal AS ({DEALS_SELECT})")
    outputs = []
    prev, deal_prev = "acc", "deal"
    for depth in range(max_depth + 1):
        cand, pin, rank, win = (f"{name}{depth}" for name in ("cand", "pin", "rank", "win"))
        ctes += [
            f"{pin} AS ({_pin_sql(depth, prev, 'forced')})",
            f"{cand} AS ({_cand_sql(depth, prev, pin)})",
            f"{rank} AS ({_rank_sql(cand, pin)})",
            f"{win} AS ({_win_sql(cand, rank)})",
        ]
        outputs += [*_deep_sql(depth, prev, cand, pin, rank), _overlap_sql(rank)]
        if has_products:
            drank = f"drank{depth}"
            ctes += [
                f"{drank} AS ({_deal_cand_sql(depth, deal_prev, 'deal', prev)})",
                f"dnext{depth} AS (SELECT deal_id, account_id, sku, pline, territory_id FROM {drank}"
                " WHERE rn = 1 AND has_children)",
            ]
            outputs += _deal_deep_sql(depth, deal_prev, drank)
            deal_prev = f"dnext{depth}"
        prev = win
    return ctes, outputs


def _full_statements(max_depth: int, has_products: bool) -> list[str]:
    """The full run's levels over what _class_compute prepared (the level-0 representatives and pinned
    accounts in _engine_prev, pins, deals): the same level SQL, one statement per level over temporary
    tables (whose sizes the planner reads from their pages, so it hashes the small side). Each level's
    statement ranks, writes overlaps and deep rows to _engine_result and the winners with children to
    _engine_win, which becomes the next level's _engine_prev."""
    statements = []
    for depth in range(max_depth + 1):
        result = "INSERT INTO _engine_result " + _union(
            [*_deep_sql(depth, "_engine_prev", "cand", "pin", "rank"), _overlap_sql("rank")]
        )
        statements += [
            f"CREATE TEMP TABLE _engine_win ({_PREV_TABLE_COLUMNS}) ON COMMIT DROP",
            f"""WITH pin AS MATERIALIZED ({_pin_sql(depth, "_engine_prev", "_engine_forced")}),
                     cand AS MATERIALIZED ({_cand_sql(depth, "_engine_prev", "pin")}),
                     rank AS MATERIALIZED ({_rank_sql("cand", "pin")}),
                     out AS ({result} RETURNING 1)
                INSERT INTO _engine_win SELECT {_NEXT_COLUMNS} FROM ({_win_sql("cand", "rank", "has_children")}) w""",
        ]
        if has_products:
            statements += [
                f"""CREATE TEMP TABLE _engine_drank ON COMMIT DROP AS
                    {_deal_cand_sql(depth, "_engine_dprev", "_engine_deal", "_engine_prev")}""",
                "INSERT INTO _engine_result " + _union(_deal_deep_sql(depth, "_engine_dprev", "_engine_drank")),
                """CREATE TEMP TABLE _engine_dnext ON COMMIT DROP AS SELECT deal_id, account_id, sku, pline,
                   territory_id FROM _engine_drank WHERE rn = 1 AND has_children""",
                "DROP TABLE _engine_dprev, _engine_drank",
                "ALTER TABLE _engine_dnext RENAME TO _engine_dprev",
            ]
        statements += ["DROP TABLE _engine_prev", "ALTER TABLE _engine_win RENAME TO _engine_prev"]
    return statements


def _union(outputs: list[str]) -> str:
    return "\nUNION ALL\n".join(f"({output})" for output in outputs)


def _incremental_query(max_depth: int, has_products: bool) -> str:
    """The computation as one SELECT for a few accounts (prepared once per connection, generic plan):
    index lookups for a handful of accounts."""
    ctes, outputs = _compute_parts(max_depth, has_products)
    return "WITH " + ",\n".join(ctes) + "\n" + _union(outputs)


def incremental_result_ctes(max_depth: int, has_products: bool) -> list[str]:
    """The computation as CTEs ending in res(row_type, a, b, c, d, e), for a statement that also writes
    (services.account_reassign's single-statement path). Parameters: %(model)s, %(ids)s, %(all)s."""
    ctes, outputs = _compute_parts(max_depth, has_products)
    return [*ctes, f"res(row_type, a, b, c, d, e) AS ({_union(outputs)})"]


def _result_counts(cursor) -> dict:
    """Counts per row type; also kept, with each type's largest ids, in _engine_result_stats (one scan serves
    the history write's key packing too)."""
    cursor.execute(
        "CREATE TEMP TABLE _engine_result_stats ON COMMIT DROP AS"
        " SELECT row_type, count(*) AS n, max(a) AS max_a, max(b) AS max_b FROM _engine_result GROUP BY row_type;"
        "SELECT row_type, n FROM _engine_result_stats"
    )
    counts = dict(cursor.fetchall())
    return {"deep": counts.get("deep", 0), "overlaps": counts.get("overlap", 0), "deals": counts.get("deal", 0)}


# A full run's temporary tables (a million accounts' classes, three million result rows) stay in memory
# instead of going through the 8 MB of local buffers to files. Allocated as used, per session.
TEMP_BUFFERS = "1GB"


def _temp_buffers_raise() -> None:
    """temp_buffers can only be set before the session's first temporary table: try, in a savepoint."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    except DatabaseError:
        pass


def assignment_compute(
    *, model_id: int, account_ids: list[int] | None = None, skip_unchanged: bool = False, plan_answers: bool = False
) -> dict:
    """Fill the temporary table _engine_result(row_type, a, b, c, d, e) for a model within the transaction.

    row_type 'deep': (account, territory, source); 'overlap': (account, winner, source, loser, reason);
    'deal': (deal, territory). A full run is one INSERT … SELECT (the CTE chain of _compute_parts, hash
    joins); a few accounts run the same chain as a prepared statement. Returns counts.

    skip_unchanged (full runs that write the active model's history): counts["_answers"] tells the writer
    what _class_compute left — "scoped": deep rows only for the accounts of _engine_scope, the rest
    unchanged since written; "full": every row, _engine_scope the changed accounts' signatures. On the first
    write ever (no membership row yet) the classes' deep rows are not expanded into _engine_result:
    counts["_deep_rest"] is (a query giving them as (a, b, c), their number), for the writer to insert
    straight into the empty membership table (counts["deep"] includes them), and counts["_answers_source"]
    (the query of every account's answer signature (account_id, sig), their number), for the writer to store
    in place of _engine_scope.

    plan_answers (full runs of a non-active model): every account's answer is compared with the plan's
    stored one (PLAN_ANSWER_TABLE) instead; _engine_scope holds the accounts whose answer changed or that
    vanished (sig NULL), and _engine_result no deep row of a class (counts["_answers"] = "plan"). On the
    plan's first run (none stored) there is no _engine_scope: counts["_answers_source"] as above.
    """
    max_depth, has_products = rules_compile(model_id=model_id)
    full = account_ids is None
    params = {"model": model_id, "all": full, "ids": list(account_ids or [])}
    if full:
        _temp_buffers_raise()
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS _engine_result, _engine_result_stats, _engine_prev, _engine_win, _engine_forced,"
            f" _engine_deal, _engine_dprev, _engine_drank, _engine_dnext, {_CLASS_TABLES};"
            "CREATE TEMP TABLE _engine_result (row_type text, a bigint, b bigint, c integer, d bigint, e text)"
            " ON COMMIT DROP"
        )
        if max_depth < 0:
            return _result_counts(cursor)
        if not full:
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
            cursor.execute(
                f"SET LOCAL plan_cache_mode = force_generic_plan; EXECUTE {name}(%s, %s)", [model_id, params["ids"]]
            )
            rows = cursor.fetchall()
            if rows:
                execute_values(cursor.cursor, "INSERT INTO _engine_result VALUES %s", rows, page_size=len(rows))
            return _result_counts(cursor)
        # Hash joins throughout: row estimates for the level tables are rough, and a nested loop over
        # accounts × candidates would be ruinous.
        # (and no JIT: disabled nested loops inflate costs past jit_above_cost, compiling costs seconds)
        deferred: dict = {}
        if skip_unchanged:
            # No current row in any of this model's territories (an activation: the alignment is another
            # model's): every account's answer differs from its stored one, so none is compared. One index
            # probe per territory, hence before nested loops are turned off.
            cursor.execute(
                """SELECT NOT EXISTS (SELECT 1 FROM territories_territory t
                                      JOIN territories_accountterritorymembership m ON m.territory_id = t.id
                                      WHERE t.territory_model_id = %(model)s AND m.valid_to IS NULL)""",
                params,
            )
            deferred["all_new"] = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_nestloop = off; SET LOCAL jit = off")
        mode = _class_compute(
            cursor,
            params=params,
            max_depth=max_depth,
            has_products=bool(has_products),
            skip_unchanged=skip_unchanged,
            plan_answers=plan_answers,
            deferred=deferred,
        )
        cursor.execute("SET LOCAL enable_nestloop TO DEFAULT")
        counts = _result_counts(cursor)
        if mode in ("scoped", "plan"):
            cursor.execute("SELECT deep FROM _engine_scope_stats")
            counts["deep"] = cursor.fetchone()[0]
        if skip_unchanged or plan_answers:
            counts["_answers"] = mode
        if "sql" in deferred:
            counts["deep"] += deferred["rows"]
            counts["_deep_rest"] = (deferred["sql"], deferred["rows"])
        if "answers" in deferred:
            counts["_answers_source"] = (deferred["answers"], deferred["answers_rows"])
        return counts


# --- Full runs over classes of accounts ------------------------------------------------------------------
#
# An account's answer depends on its attributes only through which criteria they satisfy: two accounts whose
# every field satisfies the same criteria get the same territories (pins aside). So a full run sorts the
# accounts without pins into classes — lower-cased text fields as they are, postal codes by the postal
# criteria they satisfy (equality, prefixes, ranges), employees / revenue by the elementary interval between
# the range bounds of the rules — and runs the level statements over one representative per class instead
# of every account. Classes are taken per root kind, on the fields the rules of that kind's subtrees read
# (geography does not multiply with industry), and the representatives' answers within each subtree are
# expanded back to the accounts of the class in one join. Accounts with an override or a named account run
# as themselves. Deals follow the same way: one representative deal per (class of the account over the
# fields of the subtrees that hold product territories, product, product line).

_CLASS_FIELDS = {
    # field of a rule (compiled column test) -> (account columns it reads, key expression over alias {a})
    "country": ("r.countries IS NOT NULL", ["country"], "coalesce({a}.country, chr(1))"),
    "region": ("r.regions IS NOT NULL", ["region"], "coalesce({a}.region, chr(1))"),
    "city": ("r.cities IS NOT NULL", ["city"], "coalesce({a}.city, chr(1))"),
    "postal": (
        "(r.postal_in IS NOT NULL OR r.prefixes IS NOT NULL OR r.pr_start IS NOT NULL)",
        ["postal"],
        "{a}.pkey",
    ),
    "employees": ("r.has_emp", ["employees"], "{a}.ekey"),
    "revenue": ("r.has_rev", ["revenue"], "{a}.rkey"),
    "btype": ("r.btypes IS NOT NULL", ["btype"], "coalesce({a}.btype, chr(1))"),
    "industry": ("r.industries IS NOT NULL", ["industry"], "coalesce({a}.industry, chr(1))"),
}

_ROOTS_SQL = f"""
CREATE TEMP TABLE _engine_troot ON COMMIT DROP AS
SELECT cl.descendant_id AS territory_id, rt.kind::text AS root_kind
FROM territories_territory rt JOIN territories_territoryclosure cl ON cl.ancestor_id = rt.id
WHERE rt.territory_model_id = %(model)s AND rt.parent_id IS NULL;
SELECT x.root_kind, {", ".join(f"coalesce(bool_or({test}), false)" for test, _, _ in _CLASS_FIELDS.values())},
       EXISTS (SELECT 1 FROM _engine_troot y JOIN territories_territory t ON t.id = y.territory_id
               WHERE y.root_kind = x.root_kind AND t.kind = 'product')
FROM (SELECT DISTINCT root_kind FROM _engine_troot WHERE root_kind <> 'product') x
LEFT JOIN _engine_troot y ON y.root_kind = x.root_kind
LEFT JOIN territories_engine_rule r ON r.model_id = %(model)s AND r.territory_id = y.territory_id AND NOT r.never
GROUP BY x.root_kind ORDER BY x.root_kind
"""

_BOUNDS_SQL = """
SELECT (SELECT coalesce(array_agg(DISTINCT b ORDER BY b), '{}') FROM territories_engine_rule r,
               LATERAL (VALUES (r.emp_min), (r.emp_max)) v(b)
        WHERE r.model_id = %(model)s AND NOT r.never AND r.has_emp AND b IS NOT NULL),
       (SELECT coalesce(array_agg(DISTINCT b ORDER BY b), '{}') FROM territories_engine_rule r,
               LATERAL (VALUES (r.rev_min), (r.rev_max)) v(b)
        WHERE r.model_id = %(model)s AND NOT r.never AND r.has_rev AND b IS NOT NULL)
"""


def _interval_bucket(value: str, bounds: str) -> str:
    return f"width_bucket({value}::numeric, {bounds}::numeric[])"


def _interval_class(value: str, bounds: str, bucket: str) -> str:
    """The elementary interval of value among the sorted distinct bounds: 2k for the open interval after
    the k-th bound (0 = below all), 2k - 1 for the k-th bound itself; -1 without a value. bucket: the
    value's _interval_bucket, computed once."""
    return f"""CASE WHEN {value} IS NULL THEN -1
                    WHEN {bucket} > 0 AND {value} = ({bounds}::numeric[])[{bucket}] THEN 2 * {bucket} - 1
                    ELSE 2 * {bucket} END"""


_CLASS_ACCOUNTS_SQL = """
CREATE TEMP TABLE _engine_pclass ON COMMIT DROP AS
WITH pv AS (SELECT raw, lower(raw) AS postal FROM (SELECT DISTINCT postal_code AS raw FROM accounts_account
            WHERE %(postal_read)s AND postal_code IS NOT NULL) d),
rules AS (SELECT * FROM territories_engine_rule WHERE model_id = %(model)s AND NOT never),
ins AS (SELECT DISTINCT unnest(postal_in) AS v FROM rules),
pre AS (SELECT DISTINCT unnest(prefixes) AS v FROM rules),
bnd AS (SELECT length(b) AS n, array_agg(b ORDER BY b COLLATE "C") AS bounds
        FROM (SELECT DISTINCT b FROM rules, LATERAL (VALUES (pr_start), (pr_end)) v(b) WHERE pr_start IS NOT NULL) x
        GROUP BY 1)
SELECT raw, dense_rank() OVER (ORDER BY tags) AS pkey FROM (
SELECT raw, array_agg(tag ORDER BY tag COLLATE "C") AS tags FROM (
    SELECT pv.raw, 'i:' || pv.postal AS tag FROM pv JOIN ins ON ins.v = pv.postal
    UNION ALL
    SELECT pv.raw, 'p:' || pre.v FROM pv CROSS JOIN (SELECT DISTINCT length(v) AS n FROM pre) n
    JOIN pre ON pre.v = left(pv.postal, n.n)
    UNION ALL
    SELECT pv.raw, 'r:' || bnd.n || ':' || CASE WHEN w.k > 0 AND pv.postal = bnd.bounds[w.k] THEN 2 * w.k - 1
                                                ELSE 2 * w.k END
    FROM pv JOIN bnd ON bnd.n = length(pv.postal)
    CROSS JOIN LATERAL (SELECT width_bucket(pv.postal COLLATE "C", bnd.bounds) AS k) w
) t GROUP BY raw) c;
ANALYZE _engine_pclass;
--
CREATE TEMP TABLE _engine_cls ON COMMIT DROP AS
SELECT * FROM {source} a WHERE a.pinned
"""

# Every account with its class keys of postal codes (pkey), employees (ekey) and revenue (rkey), and whether
# it is pinned. Read twice: for the pinned accounts (_engine_cls) and grouped into classes (_engine_grp).
_CLASS_SOURCE_SQL = f"""(
SELECT a.*, pf.account_id IS NOT NULL AS pinned,
       CASE WHEN a.postal IS NULL THEN -1 ELSE coalesce(pc.pkey, 0) END AS pkey,
       {_interval_class("a.employees", "%(emp_bounds)s", "a.ebucket")} AS ekey,
       {_interval_class("a.revenue", "%(rev_bounds)s", "a.rbucket")} AS rkey
FROM (SELECT a.*, {_interval_bucket("a.employees", "%(emp_bounds)s")} AS ebucket,
             {_interval_bucket("a.revenue", "%(rev_bounds)s")} AS rbucket
      FROM ({{accounts}}) a OFFSET 0) a
LEFT JOIN (SELECT DISTINCT account_id FROM _engine_forced) pf ON pf.account_id = a.account_id
LEFT JOIN _engine_pclass pc ON pc.raw = a.postal)"""

_CLASS_TABLES = (
    "_engine_raw, _engine_troot, _engine_pclass, _engine_cls, _engine_grp, _engine_unpinned, _engine_dmap, "
    "_engine_pdeal, _engine_scope, "
    "_engine_scope_stats, " + ", ".join(f"_engine_rep{i}, _engine_rsig{i + 1}" for i in range(len(_CLASS_FIELDS) + 2))
)
_ATTR_TYPES = {"employees": "integer", "revenue": "numeric"} | dict.fromkeys(
    ("country", "region", "city", "postal", "btype", "industry"), "text"
)
_LOWERED = {
    "country": "country", "region": "region", "city": "city", "postal": "postal_code", "btype": "business_type",
    "industry": "industry",
}  # fmt: skip
_REP_ID_STRIDE = 10**12  # representatives of class set i get ids -(i * stride + n): never a real account's


def _lowered_columns() -> str:
    """The account columns of _engine_cls with the text fields lower-cased (as the level statements compare)."""
    return ", ".join(f"lower({column}) AS {column}" if column in _LOWERED else column for column in _ATTRS)


def _class_sets(cursor, params: dict, has_products: bool) -> list[tuple[tuple[str, ...], list[str], bool]]:
    """(fields, root kinds, holds the deals) per set of classes: one per distinct field set of the root
    kinds' subtrees, and the deals' one (the fields of the subtrees holding product territories)."""
    cursor.execute(_ROOTS_SQL, params)
    names = list(_CLASS_FIELDS)
    sets: dict[tuple[str, ...], tuple[list[str], list[bool]]] = {}
    deal_fields: set[str] = set()
    for root_kind, *flags in cursor.fetchall():
        fields = tuple(name for name, used in zip(names, flags[:-1], strict=True) if used)
        sets.setdefault(fields, ([], [False]))[0].append(root_kind)
        if flags[-1]:
            deal_fields |= set(fields)
    if has_products:
        sets.setdefault(tuple(name for name in names if name in deal_fields), ([], [False]))[1][0] = True
    return [(fields, kinds, deals[0]) for fields, (kinds, deals) in sets.items()]


def _class_keys(fields: tuple[str, ...], alias: str) -> list[str]:
    return [_CLASS_FIELDS[field][2].format(a=alias) for field in fields]


def _class_compute(
    cursor,
    *,
    params: dict,
    max_depth: int,
    has_products: bool,
    skip_unchanged: bool = False,
    plan_answers: bool = False,
    deferred: dict | None = None,
) -> str:
    """The full run over classes of accounts (see above).

    skip_unchanged (a run writing the active model's history): also compare every account's answer with
    the one last written (_answer_scope). Returns "scoped" when _engine_result holds deep rows only for the
    accounts in _engine_scope (those whose answer changed), "full" when it holds all of them (and
    _engine_scope the changed ones), "" without the comparison.

    plan_answers (a run of a non-active model): compare with the plan's stored answers instead; returns
    "plan", with no class's deep row in _engine_result (the writer stores _engine_scope's signatures, or on
    the plan's first run, with deferred given, deferred["answers"]: nothing stored to compare with).

    deferred (given with skip_unchanged; deferred["all_new"]: no current row is in this model's
    territories, so every account's answer is new — an activation): when the membership table is empty —
    the first write ever, where all three million rows of a million accounts open — the representatives'
    deep rows are left unexpanded and deferred gets {"sql": a query of their accounts' rows (a, b, c),
    "rows": their number}: the writer inserts them straight into the table instead of through
    _engine_result. Every account's answer is new then, so its signature is not compared either:
    deferred["answers"] is the query of every account's (account_id, sig), which the writer stores straight
    from (no _engine_scope) — as with deferred["all_new"], where the deep rows are expanded as on any full
    run."""
    cursor.execute(_BOUNDS_SQL, params)
    emp_bounds, rev_bounds = cursor.fetchone()
    sets = _class_sets(cursor, params, has_products)
    # Hash joins and hash aggregates on the class keys: sorting a million text keys by collation costs more.
    cursor.execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_sort = off")
    cursor.execute(f"CREATE TEMP TABLE _engine_forced ON COMMIT DROP AS {FORCED_SELECT}", params)
    # Text fields no rule reads stay NULL; the others are classed as stored (spellings that differ only in
    # case make separate classes with the same answer) and lower-cased once per representative: lower() on
    # every account was most of the cost of reading them.
    read = {column for fields, _kinds, _deals in sets for field in fields for column in _CLASS_FIELDS[field][1]}
    accounts = ACCOUNTS_SELECT
    for column, source in _LOWERED.items():
        stored = f"a.{source}::text" if column in read else "NULL::text"
        accounts = accounts.replace(f"lower(a.{source}) AS {column}", f"{stored} AS {column}")
    class_params = {
        **params,
        "emp_bounds": list(emp_bounds),
        "rev_bounds": list(rev_bounds),
        "postal_read": "postal" in read,
    }
    source = _CLASS_SOURCE_SQL.replace("{accounts}", accounts)
    cursor.execute("SELECT coalesce(array_agg(DISTINCT account_id), '{}') FROM _engine_forced")
    pinned_ids = cursor.fetchone()[0]
    pclass, pinned = _CLASS_ACCOUNTS_SQL.replace("{source}", source).split("\n--\n")
    cursor.execute(pclass, class_params)
    # The pinned accounts by their ids (an index scan), not by reading every account.
    cursor.execute(pinned, {**class_params, "all": False, "ids": pinned_ids})
    cursor.execute(
        f"CREATE TEMP TABLE _engine_prev ({_PREV_TABLE_COLUMNS}) ON COMMIT DROP;"
        f"INSERT INTO _engine_prev SELECT {_lowered_columns()}, territory_id, src, has_children"
        " FROM _engine_cls WHERE pinned"
    )
    # The unpinned accounts grouped into the classes of every set at once, in one scan (GROUPING SETS, one
    # hash table per set): a text field's key is its stored value, so a representative takes it from the key;
    # postal codes, employees and revenue take any member's value (min). Sets without fields have one class,
    # every unpinned account: no ids kept for it (_members reads them from the other sets, or
    # _engine_unpinned).
    keyed = [fields for fields, _kinds, _deals in sets if fields]
    columns = [field for field in _CLASS_FIELDS if any(field in fields for fields in keyed)]
    key_of = {field: f"k_{field}" for field in columns}

    def grouping_id(fields: tuple[str, ...]) -> int:  # GROUPING(k_…): a bit set for each key not grouped on
        return sum(1 << (len(columns) - 1 - j) for j, field in enumerate(columns) if field not in fields)

    if keyed:
        key_exprs = ", ".join(f"{_CLASS_FIELDS[field][2].format(a='a')} AS {key_of[field]}" for field in columns)
        grouping_sets = ", ".join("(" + ", ".join(key_of[field] for field in fields) + ")" for fields in keyed)
        # The planner sizes each array_agg state at 8 kB and would sort a million text keys instead of
        # hashing them; the states really take ~1 kB per class (a set's hash table spills past work_mem).
        cursor.execute("SET LOCAL hash_mem_multiplier = 64")
        cursor.execute(
            f"""CREATE TEMP TABLE _engine_grp ON COMMIT DROP AS
                SELECT GROUPING({", ".join(key_of.values())}) AS g, {", ".join(key_of.values())},
                       min(a.postal COLLATE "C") AS postal, min(a.employees) AS employees,
                       min(a.revenue) AS revenue, array_agg(a.account_id) AS ids
                FROM (SELECT a.account_id, a.postal, a.employees, a.revenue, {key_exprs}
                      FROM {source} a WHERE NOT a.pinned) a
                GROUP BY GROUPING SETS ({grouping_sets})""",
            class_params,
        )
        cursor.execute("SET LOCAL hash_mem_multiplier TO DEFAULT")
        unpinned = f"(SELECT unnest(ids) AS account_id FROM _engine_grp WHERE g = {grouping_id(keyed[0])})"
        cursor.execute(f"SELECT coalesce(sum(cardinality(ids)), 0) FROM _engine_grp WHERE g = {grouping_id(keyed[0])}")
    else:
        cursor.execute(
            f"CREATE TEMP TABLE _engine_unpinned ON COMMIT DROP AS SELECT a.account_id FROM {source} a"
            " WHERE NOT a.pinned;"
            "SELECT count(*) FROM _engine_unpinned",
            class_params,
        )
        unpinned = "(SELECT account_id FROM _engine_unpinned)"
    unpinned_count = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM _engine_cls")
    counts = {"unpinned": unpinned_count, "pinned": cursor.fetchone()[0]}
    deal_set = None
    for index, (fields, _kinds, deals) in enumerate(sets):
        values = []
        for column in _ATTRS[1:]:
            field = next((f for f in fields if column in _CLASS_FIELDS[f][1]), None)
            if field is None:
                values.append(f"NULL::{_ATTR_TYPES[column]} AS {column}")
            elif column in ("postal", "employees", "revenue"):
                values.append(f"{'lower(g.postal)' if column == 'postal' else f'g.{column}'} AS {column}")
            else:
                values.append(f"lower(nullif(g.{key_of[field]}, chr(1))) AS {column}")
        if fields:
            select = f"SELECT {', '.join(values)}, g.ids FROM _engine_grp g WHERE g.g = {grouping_id(fields)}"
        else:
            select = f"SELECT {', '.join(values)}, NULL::bigint[] AS ids WHERE {unpinned_count} > 0"
        cursor.execute(
            f"""CREATE TEMP TABLE _engine_rep{index} ON COMMIT DROP AS
                SELECT -({index * _REP_ID_STRIDE} + row_number() OVER ()) AS account_id, r.*
                FROM ({select}) r;
                INSERT INTO _engine_prev
                SELECT account_id, {", ".join(_ATTRS[1:])}, 0, 2, true FROM _engine_rep{index}"""
        )
        if deals:
            deal_set = index
    if has_products:
        deal_members = _members(f"_engine_rep{deal_set}", None if sets[deal_set][0] else unpinned)
        statements = [
            f"""CREATE TEMP TABLE _engine_dmap ON COMMIT DROP AS
                SELECT d.deal_id, m.rep_id, d.sku, d.pline
                FROM ({DEALS_SELECT}) d
                JOIN {deal_members} m ON m.account_id = d.account_id""",
            """CREATE TEMP TABLE _engine_pdeal ON COMMIT DROP AS
                SELECT -row_number() OVER () AS deal_id, rep_id AS account_id, sku, pline, 0::bigint AS territory_id
                FROM (SELECT DISTINCT rep_id, sku, pline FROM _engine_dmap) x""",
            f"""CREATE TEMP TABLE _engine_deal ON COMMIT DROP AS
                SELECT * FROM _engine_pdeal
                UNION ALL
                SELECT d.* FROM ({DEALS_SELECT}) d JOIN _engine_cls c ON c.account_id = d.account_id AND c.pinned""",
            "CREATE TEMP TABLE _engine_dprev ON COMMIT DROP AS SELECT * FROM _engine_deal",
        ]
        for statement in statements:
            cursor.execute(statement, params)
    cursor.execute("SET LOCAL enable_mergejoin TO DEFAULT; SET LOCAL enable_sort TO DEFAULT")
    for statement in _full_statements(max_depth, has_products):
        cursor.execute(statement, params)
    cursor.execute("SET LOCAL enable_mergejoin = off; SET LOCAL enable_sort = off")
    cursor.execute(
        "ALTER TABLE _engine_result RENAME TO _engine_raw;"
        "CREATE TEMP TABLE _engine_result (row_type text, a bigint, b bigint, c integer, d bigint, e text)"
        " ON COMMIT DROP"
    )
    expanding = [(index, kinds) for index, (_fields, kinds, _deals) in enumerate(sets) if kinds]
    first_write = False
    if deferred is not None and skip_unchanged:
        cursor.execute("SELECT NOT EXISTS (SELECT 1 FROM territories_accountterritorymembership)")
        first_write = cursor.fetchone()[0]
    if plan_answers:
        plan_answers_table = f"{PLAN_ANSWER_TABLE} WHERE territory_model_id = {int(params['model'])}"
        # A plan's first run (no stored answer yet): every answer is new, nothing to compare with.
        cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {plan_answers_table})")
        first_plan = cursor.fetchone()[0] and deferred is not None
        scoped = _answer_scope(
            cursor,
            expanding,
            unpinned,
            counts,
            stored=f"(SELECT account_id, sig FROM {plan_answers_table})",
            plan=True,
            lazy=deferred if first_plan else None,
        )
    else:
        all_new = first_write or bool(deferred and deferred.get("all_new"))
        scoped = skip_unchanged and _answer_scope(
            cursor, expanding, unpinned, counts, lazy=deferred if all_new else None
        )
    # Expand: pinned accounts' and real deals' rows as they are, representatives' rows to their classes —
    # on a scoped run, deep rows only for the accounts whose answer changed (overlaps always, all of them);
    # on the first write, overlaps only (the deep rows go to the writer as a query).
    if plan_answers:
        scope = " AND row_type <> 'deep'"
    elif scoped:
        scope = " AND (row_type <> 'deep' OR a IN (SELECT account_id FROM _engine_scope))"
    else:
        scope = ""
    cursor.execute(f"INSERT INTO _engine_result SELECT * FROM _engine_raw WHERE a > 0{scope}")
    deep_rest = []
    for position, (index, kinds) in enumerate(expanding, start=1):
        lateral = f"{unpinned} u" if not sets[index][0] else "unnest(r.ids) u(account_id)"
        expansion = f"""FROM _engine_raw res JOIN _engine_troot t ON t.territory_id = res.b
                JOIN _engine_rep{index} r ON r.account_id = res.a
                CROSS JOIN LATERAL {lateral}
                WHERE res.a < 0 AND t.root_kind = ANY({cursor.mogrify("%s", [kinds]).decode()}::text[])"""
        cursor.execute(
            f"""INSERT INTO _engine_result
                SELECT res.row_type, u.account_id, res.b, res.c, res.d, res.e {expansion}
                AND res.row_type {"= 'overlap'" if scoped or first_write or plan_answers else "<> 'deal'"}"""
        )
        if first_write:
            deep_rest.append(f"SELECT u.account_id AS a, res.b, res.c {expansion} AND res.row_type = 'deep'")
        if scoped and not plan_answers:
            cursor.execute(
                f"""INSERT INTO _engine_result
                    SELECT 'deep', s.account_id, res.b, res.c, res.d, res.e
                    FROM _engine_scope s JOIN _engine_raw res ON res.a = s.reps[{position}]
                    JOIN _engine_troot t ON t.territory_id = res.b
                    WHERE res.a < 0 AND res.row_type = 'deep' AND t.root_kind = ANY(%(kinds)s)""",
                {"kinds": kinds},
            )
    if has_products:
        cursor.execute(
            """INSERT INTO _engine_result
               SELECT 'deal', m.deal_id, x.b, x.c, x.d, x.e FROM _engine_raw x
               JOIN _engine_pdeal p ON p.deal_id = x.a
               JOIN _engine_dmap m ON m.rep_id = p.account_id AND coalesce(m.sku, chr(1)) = coalesce(p.sku, chr(1))
                AND coalesce(m.pline, chr(1)) = coalesce(p.pline, chr(1))
               WHERE x.row_type = 'deal' AND x.a < 0"""
        )
    if deep_rest:
        cursor.execute(f"SELECT (0{_class_deep_rows(len(expanding), counts['unpinned'])})::bigint")
        deferred |= {"sql": "\nUNION ALL\n".join(deep_rest), "rows": cursor.fetchone()[0]}
    cursor.execute("SET LOCAL enable_mergejoin TO DEFAULT; SET LOCAL enable_sort TO DEFAULT")
    if plan_answers:
        return "plan"
    if not skip_unchanged:
        return ""
    return "scoped" if scoped else "full"


# An account's answer signature: its deep rows as territory_id * 4 + source, sorted per class set and the
# sets concatenated in a fixed order (pinned accounts: all their rows sorted). Equal arrays mean equal
# answers; the same answer may occasionally be spelt differently (an account pinned in one run only), which
# costs a needless diff, never a missed one.
_ROW_SIG = "array_agg(res.b * 4 + res.c ORDER BY res.b * 4 + res.c)"
ANSWER_TABLE = "territories_engine_answer"
PLAN_ANSWER_TABLE = "territories_planaccountanswer"  # a non-active model's answers (PlanAccountAnswer)
_SCOPED_SHARE = 2  # a scope of at least 1/2 of the accounts expands and diffs everything (cheaper than filtering)


def _members(rep_table: str, unpinned: str | None) -> str:
    """(rep_id, account_id) for every account of the representatives' classes; unpinned: the accounts of the
    one class of a set without fields."""
    if unpinned:
        return f"""(SELECT r.account_id AS rep_id, c.account_id FROM {rep_table} r CROSS JOIN {unpinned} c)"""
    return f"""(SELECT r.account_id AS rep_id, u.account_id
                FROM {rep_table} r CROSS JOIN LATERAL unnest(r.ids) u(account_id))"""


def _answer_scope(
    cursor,
    expanding: list[tuple[int, list[str]]],
    unpinned: str,
    counts: dict,
    *,
    stored: str = ANSWER_TABLE,
    plan: bool = False,
    lazy: dict | None = None,
) -> bool:
    """_engine_scope(account_id, sig, reps): the accounts whose answer differs from the one `stored`
    (territories_engine_answer, or a plan's answers) or that have none stored, with their new signature
    and their representative per expanded class set (NULL for pinned accounts). True when few enough of
    them for the run to expand and diff only those; then _engine_scope_stats holds the run's total deep
    rows. plan: also the stored accounts that no longer exist (sig NULL), and always the stats.

    lazy (the first write ever, or a plan's first run: every account's answer is new): no _engine_scope;
    lazy["answers"] gets the query of every account's (account_id, sig) instead, for the writer to store
    straight from — a million signatures written once instead of twice (0.3–0.6 s at the benchmark's size;
    a plan's first run 1–2 s) — and lazy["answers_rows"] their number; returns False."""
    singles = []
    for position, (index, kinds) in enumerate(expanding, start=1):
        cursor.execute(
            f"""CREATE TEMP TABLE _engine_rsig{position} ON COMMIT DROP AS
                SELECT r.account_id AS rep, coalesce(x.sig, '{{}}') AS sig, r.ids
                FROM _engine_rep{index} r LEFT JOIN (
                    SELECT res.a, {_ROW_SIG} AS sig FROM _engine_raw res
                    JOIN _engine_rep{index} r ON r.account_id = res.a
                    JOIN _engine_troot t ON t.territory_id = res.b
                    WHERE res.row_type = 'deep' AND t.root_kind = ANY(%(kinds)s) GROUP BY res.a) x
                  ON x.a = r.account_id""",
            {"kinds": kinds},
        )
        singles.append(cursor.rowcount == 1)
    # The sets of one class (all unpinned accounts alike, e.g. account-based trees) join as a constant; one
    # set of several classes drives (its account ids unnested), the others join it on the account id.
    driver = next((position for position, single in enumerate(singles, start=1) if not single), None)
    parts = [
        f"(SELECT unnest(ids) AS account_id, rep, sig FROM _engine_rsig{driver}) m{driver}"
        if driver is not None
        else f"{unpinned} m0"
    ]
    for position, single in enumerate(singles, start=1):
        if single:
            parts.append(f"CROSS JOIN (SELECT rep, sig FROM _engine_rsig{position}) m{position}")
        elif position != driver:
            parts.append(
                f"JOIN (SELECT unnest(ids) AS account_id, rep, sig FROM _engine_rsig{position}) m{position}"
                f" ON m{position}.account_id = m{driver}.account_id"
            )
    positions = range(1, len(singles) + 1)
    sig = " || ".join(f"m{position}.sig" for position in positions) or "'{}'::bigint[]"
    reps = "ARRAY[" + ", ".join(f"m{position}.rep" for position in positions) + "]::bigint[]"
    account = f"m{driver if driver is not None else 0}.account_id"
    with_reps = lazy is None  # the representatives serve a scoped expansion only
    signatures = f"""
        SELECT {account} AS account_id, {sig} AS sig{f", {reps} AS reps" if with_reps else ""} FROM {" ".join(parts)}
        UNION ALL
        SELECT p.account_id, coalesce(x.sig, '{{}}'){", NULL" if with_reps else ""} FROM _engine_cls p
        LEFT JOIN (SELECT res.a, {_ROW_SIG} AS sig FROM _engine_raw res
                   WHERE res.a > 0 AND res.row_type = 'deep' GROUP BY res.a) x ON x.a = p.account_id
        WHERE p.pinned"""
    if lazy is not None:
        lazy |= {"answers": signatures, "answers_rows": counts["unpinned"] + counts["pinned"]}
        if plan:
            _scope_stats(cursor, len(singles), counts["unpinned"])
        return False
    cursor.execute(
        f"""CREATE TEMP TABLE _engine_scope ON COMMIT DROP AS
            SELECT {"coalesce(s.account_id, a.account_id)" if plan else "s.account_id"} AS account_id, s.sig, s.reps
            FROM ({signatures}) s {"FULL" if plan else "LEFT"} JOIN {stored} a ON a.account_id = s.account_id
            WHERE a.sig IS DISTINCT FROM s.sig"""
    )
    changed = cursor.rowcount
    if not plan and changed * _SCOPED_SHARE >= counts["unpinned"] + counts["pinned"]:
        return False
    cursor.execute("ANALYZE _engine_scope")
    _scope_stats(cursor, len(singles), counts["unpinned"])
    return True


def _scope_stats(cursor, sets: int, unpinned: int) -> None:
    """_engine_scope_stats(deep): the run's total deep rows, for a run that expands only some of them."""
    cursor.execute(
        f"""CREATE TEMP TABLE _engine_scope_stats ON COMMIT DROP AS
            SELECT ((SELECT count(*) FROM _engine_raw WHERE a > 0 AND row_type = 'deep')
                    {_class_deep_rows(sets, unpinned)})::bigint AS deep"""
    )


def _class_deep_rows(sets: int, unpinned: int) -> str:
    """The "+ (…)" terms summing the deep rows of the classes' accounts (each representative's signature
    length times its class size), from the _engine_rsig tables of _answer_scope."""
    return "".join(
        f" + (SELECT coalesce(sum(cardinality(sig)::bigint * coalesce(cardinality(ids), {unpinned})), 0)"
        f" FROM _engine_rsig{position})"
        for position in range(1, sets + 1)
    )


def result_stats_rebuild(cursor) -> None:
    """Recount _engine_result into _engine_result_stats after rows were added to it."""
    cursor.execute("DROP TABLE IF EXISTS _engine_result_stats")
    _result_counts(cursor)
