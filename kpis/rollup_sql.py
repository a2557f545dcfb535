"""The set-based SQL of a rollup recompute, run statement by statement inside one transaction.

Every step builds temporary tables (dropped at commit) from the previous ones; the last swaps the rows of
the recomputed scope (steps(): in place for a targeted recompute, a fresh partition for a full one). The
KPIs are stored as their period's figures (kpis_kpifigure, one row per territory × view × period); the
KpiRollup view (migration kpis/0014) reads each KPI from them.
Parameters: view ('as_of' | 'restated'), model_id (the active
territory model), all_territories (bool), territory_ids (int[]), today (date), computed_at (timestamptz).

Credit rules (see docs/KPIS.md): a deal's date is closed_on when closed, else today. As-of, a deal is
credited to the active territory whose *code* held the deal's account (product territories: the deal)
on that date in any non-planning model; each account's (deal's) earliest membership counts from the
beginning of the data. Restated, the active model's current memberships hold for all time.
"""

# The stored figures of a period (KpiFigure), in the order of FIGURE_ROWS. Every KPI of the period follows
# from them: the KpiRollup view (migration kpis/0014) unpivots each figures row into the catalogue's KPIs.
FIGURE_COLUMNS = (
    "revenue", "won", "lost", "pipeline", "weighted", "created", "created_won", "new_customers", "accounts_end",
    "penetrated_end", "previous_revenue", "target",
)  # fmt: skip
FIGURE_LIST = ", ".join(FIGURE_COLUMNS)
NEW_FIGURE_LIST = ", ".join(f"n.{column}" for column in FIGURE_COLUMNS)  # the same, from rows aliased n

# The figures of the scope's periods, with the previous period's revenue and the revenue target beside them.
FIGURE_ROWS = """
SELECT kp.territory_id, kp.period_type, kp.period_start, kp.revenue, kp.won, kp.lost, kp.pipeline, kp.weighted,
       kp.created, kp.created_won, kp.new_customers, kp.accounts_end, kp.penetrated_end,
       lag(kp.revenue) OVER (PARTITION BY kp.territory_id, kp.period_type ORDER BY kp.period_start)
           AS previous_revenue,
       tg.value AS target
FROM kpi_period kp
LEFT JOIN kpi_revenue_target tg USING (territory_id, period_type, period_start)
"""


def revenue_targets(*, scope: str) -> str:
    """The revenue target per (territory, period) of the targets `scope` (a join or condition on kt, the
    targets) keeps: a quarter or year target is the one set, else the sum of its month targets."""
    return f"""
WITH set_target AS (
    SELECT kt.territory_id, kt.period_type::text AS period_type, kt.period_start, kt.value
    FROM kpis_kpitarget kt
    {scope}
    JOIN kpis_kpidefinition k ON k.id = kt.kpi_id AND k.code = 'revenue'
),
derived AS (
    SELECT territory_id, p.period_type, date_trunc(p.period_type, period_start::timestamp)::date AS period_start,
           sum(value) AS value
    FROM set_target CROSS JOIN (VALUES ('quarter'), ('year')) p(period_type)
    WHERE set_target.period_type = 'month'
    GROUP BY 1, 2, 3
)
SELECT territory_id, period_type, period_start, coalesce(st.value, dv.value) AS value
FROM set_target st FULL JOIN derived dv USING (territory_id, period_type, period_start)
"""


# After targets changed (and nothing else): the targets of these territories' figures rows, both views, set
# in place to what a recompute would store; rows whose target stays are not written. Parameters:
# territory_ids (int[]), computed_at.
TARGETS_REFRESH = f"""
WITH target AS ({revenue_targets(scope="JOIN unnest(%(territory_ids)s::bigint[]) s(id) ON s.id = kt.territory_id")}),
refreshed AS (
    SELECT f.id, f.view, t.value
    FROM kpis_kpifigure f
    LEFT JOIN target t USING (territory_id, period_type, period_start)
    WHERE f.territory_id = ANY(%(territory_ids)s)
)
UPDATE kpis_kpifigure f
SET target = r.value, computed_at = %(computed_at)s
FROM refreshed r
WHERE f.id = r.id AND f.view = r.view AND f.target IS DISTINCT FROM r.value
"""


# Which deals each breakdown counts, and in which month (one place per rule, shared by the recompute and the
# delta). Won: the revenue and deals_won KPIs (closing month); open: the pipeline_value KPI (expected month).
WON_DEAL = "stage = 'won' AND closed_on IS NOT NULL"
OPEN_DEAL = "closed_on IS NULL AND expected_close_on IS NOT NULL"
WON_MONTH = "date_trunc('month', closed_on::timestamp)::date"
OPEN_MONTH = "date_trunc('month', expected_close_on::timestamp)::date"
PERIOD_TYPES = "(VALUES ('month'), ('quarter'), ('year')) p(period_type)"


def dimension_rows(*, keys: list[tuple[str, str]], measures: list[tuple[str, str]], where: str, month: str) -> str:
    """Figures per territory × key × period of the credited deals (kpi_sig_deal, kpi_credit) matching
    `where`: months by signature, then territories, then quarters from the months and years from the quarters.
    keys: (alias, expression over a deal row); measures: (alias, aggregate over deal rows), summed upward."""
    key_list = ", ".join(f"{expression} AS {alias}" for alias, expression in keys)
    aliases = [alias for alias, _ in keys]
    agg = ", ".join(f"{aggregate} AS {alias}" for alias, aggregate in measures)
    resum = ", ".join(f"sum(w.{alias}) AS {alias}" for alias, _ in measures)
    names = ", ".join(alias for alias, _ in measures)
    key_names = ", ".join(aliases)
    positions = ", ".join(str(i) for i in range(1, len(keys) + 3))
    # Month rows are unique per (territory, key, month) — accounts' territories and product territories are
    # disjoint — so they are rows as they stand; quarters sum months and years sum quarters, each grouping the
    # level below (a tenth of the rows of grouping every month three times over by a text period type).
    return f"""
WITH month_rows AS MATERIALIZED (
    SELECT ss.territory_id, {", ".join(f"w.{a}" for a in aliases)}, w.month, {resum}
    FROM (
        SELECT sig_id, {key_list}, {month} AS month, {agg}
        FROM kpi_sig_deal WHERE {where} GROUP BY {positions}
    ) w
    JOIN kpi_sig_scope ss ON ss.sig_id = w.sig_id
    GROUP BY {positions}
    UNION ALL
    SELECT territory_id, {key_list}, {month}, {agg}
    FROM kpi_credit WHERE {where} GROUP BY {positions}
),
quarter_rows AS MATERIALIZED (
    SELECT territory_id, {key_names}, date_trunc('quarter', month::timestamp)::date AS month,
           {", ".join(f"sum({alias}) AS {alias}" for alias, _ in measures)}
    FROM month_rows GROUP BY {positions}
)
SELECT territory_id, {key_names}, 'month'::text AS period_type, month AS period_start, {names} FROM month_rows
UNION ALL
SELECT territory_id, {key_names}, 'quarter'::text, month, {names} FROM quarter_rows
UNION ALL
SELECT territory_id, {key_names}, 'year'::text, date_trunc('year', month::timestamp)::date,
       {", ".join(f"sum({alias})" for alias, _ in measures)}
FROM quarter_rows GROUP BY territory_id, {key_names}, date_trunc('year', month::timestamp)
"""


# Won revenue and count per territory × campaign × period.
CAMPAIGN_ROWS = dimension_rows(
    keys=[("campaign_id", "campaign_id")],
    measures=[("revenue", "sum(amount)"), ("deals_won", "count(*)")],
    where=WON_DEAL,
    month=WON_MONTH,
)

# KpiBreakdownRollup rows: open deals by stage (the pipeline_value deals), won deals by product line.
BREAKDOWN_ROWS = (
    "("
    + dimension_rows(
        keys=[("dimension", "'stage'::text"), ("stage", "stage"), ("product_line_id", "NULL::bigint")],
        measures=[("deals", "count(*)"), ("amount", "sum(amount)"), ("weighted", "sum(amount * probability / 100)")],
        where=OPEN_DEAL,
        month=OPEN_MONTH,
    )
    + ") UNION ALL ("
    + dimension_rows(
        keys=[("dimension", "'product_line'::text"), ("stage", "''::text"), ("product_line_id", "product_line_id")],
        measures=[("deals", "count(*)"), ("amount", "sum(amount)"), ("weighted", "NULL::numeric")],
        where=WON_DEAL,
        month=WON_MONTH,
    )
    + ")"
)

# The key of a breakdown row: rows r and n are the same row (NULL product line = no product).
BREAKDOWN_KEY = (
    "{r}.dimension = {n}.dimension AND {r}.stage = {n}.stage"
    " AND coalesce({r}.product_line_id, 0) = coalesce({n}.product_line_id, 0)"
)


# The targeted swap of the breakdown rows (as the campaign rows: update in place, delete vanished keys,
# insert new ones).
BREAKDOWN_TARGETED_SWAP = f"""
UPDATE kpis_kpibreakdownrollup r
SET deals = n.deals, amount = n.amount, weighted = n.weighted, computed_at = %(computed_at)s
FROM kpi_breakdown_new n
WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s) AND r.territory_id = n.territory_id
  AND r.period_type = n.period_type AND r.period_start = n.period_start AND {BREAKDOWN_KEY.format(r="r", n="n")};

DELETE FROM kpis_kpibreakdownrollup r
WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s)
  AND NOT EXISTS (
      SELECT FROM kpi_breakdown_new n
      WHERE n.territory_id = r.territory_id AND n.period_type = r.period_type AND n.period_start = r.period_start
        AND {BREAKDOWN_KEY.format(r="r", n="n")}
  );

INSERT INTO kpis_kpibreakdownrollup (territory_id, dimension, stage, product_line_id, view, period_type,
    period_start, deals, amount, weighted, computed_at)
SELECT n.territory_id, n.dimension, n.stage, n.product_line_id, %(view)s, n.period_type, n.period_start, n.deals,
       n.amount, n.weighted, %(computed_at)s
FROM kpi_breakdown_new n
WHERE NOT EXISTS (
    SELECT FROM kpis_kpibreakdownrollup r
    WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s) AND r.territory_id = n.territory_id
      AND r.period_type = n.period_type AND r.period_start = n.period_start AND {BREAKDOWN_KEY.format(r="r", n="n")}
)
ORDER BY n.territory_id, n.period_type, n.period_start, n.dimension, n.stage, n.product_line_id
"""


STEPS: list[tuple[str, str]] = [
    (
        "calendar",
        # Global, not per scope, so a targeted recompute yields exactly the rows of a full one. One scan,
        # once per transaction (both views use it; the per-view cleanup keeps it).
        """
        CREATE TEMP TABLE IF NOT EXISTS kpi_calendar ON COMMIT DROP AS
        SELECT generate_series(b.first_month, b.last_month, interval '1 month')::date AS month
        FROM (
            SELECT date_trunc('month', least(
                       min(created_on), min(expected_close_on) FILTER (WHERE closed_on IS NULL)
                   )::timestamp)::date AS first_month,
                   date_trunc('month', greatest(
                       max(created_on), max(closed_on), max(expected_close_on) FILTER (WHERE closed_on IS NULL),
                       %(today)s::date
                   )::timestamp)::date AS last_month
            FROM accounts_deal
        ) b
        WHERE b.first_month IS NOT NULL
        """,
    ),
    (
        "scope",
        # account_source_id: whose accounts a territory measures (a product territory: its nearest
        # non-product ancestor's; NULL = all accounts).
        """
        CREATE TEMP TABLE kpi_scope ON COMMIT DROP AS
        SELECT t.id, t.code, t.kind = 'product' AS is_product,
               CASE WHEN t.kind <> 'product' THEN t.id ELSE (
                   SELECT c.ancestor_id
                   FROM territories_territoryclosure c
                   JOIN territories_territory a ON a.id = c.ancestor_id
                   WHERE c.descendant_id = t.id AND c.depth > 0 AND a.kind <> 'product'
                   ORDER BY c.depth LIMIT 1
               ) END AS account_source_id
        FROM territories_territory t
        WHERE t.territory_model_id = %(model_id)s AND (%(all_territories)s OR t.id = ANY(%(territory_ids)s));
        ANALYZE kpi_scope
        """,
    ),
    (
        "reach",
        # Which (possibly older models') territories' memberships count for each measured territory
        # (the scope, and the territories whose accounts its product territories measure).
        """
        CREATE TEMP TABLE kpi_reach ON COMMIT DROP AS
        SELECT DISTINCT x.territory_id, x.is_product, c.descendant_id
        FROM (
            SELECT id AS territory_id, code, is_product FROM kpi_scope
            UNION
            SELECT src.id, src.code, false FROM kpi_scope s
            JOIN territories_territory src ON src.id = s.account_source_id
            WHERE s.is_product
        ) x
        JOIN territories_territory a ON a.code = x.code
        JOIN territories_territorymodel m ON m.id = a.territory_model_id
        JOIN territories_territoryclosure c ON c.ancestor_id = a.id
        WHERE CASE WHEN %(view)s = 'restated' THEN a.id = x.territory_id ELSE m.state <> 'planning' END;
        ANALYZE kpi_reach
        """,
    ),
    (
        "account intervals",
        # Each account's timeline cut into intervals over which the set of memberships that count (the
        # "holders") is constant; each distinct holder set is a signature, and a signature stands for the
        # set of measured territories its holders count for (distinct: an account in two children of T,
        # or in T's code in two models, counts once). Every date of an account is in at most one interval,
        # so per-signature sums are per-territory sums once expanded; nothing is counted per (territory, deal).
        """
        CREATE TEMP TABLE kpi_account_interval ON COMMIT DROP AS
        WITH reached AS (
            SELECT mb.account_id, mb.territory_id, mb.valid_from, mb.valid_to
            FROM territories_accountterritorymembership mb
            WHERE mb.territory_id IN (SELECT descendant_id FROM kpi_reach WHERE NOT is_product)
              AND (%(view)s = 'as_of' OR mb.valid_to IS NULL)
        ),
        first_membership AS (
            SELECT h.account_id, min(h.valid_from) AS first_from
            FROM territories_accountterritorymembership h
            JOIN territories_territory ht ON ht.id = h.territory_id
            JOIN territories_territorymodel hm ON hm.id = ht.territory_model_id
            WHERE hm.state <> 'planning' AND h.account_id IN (SELECT account_id FROM reached)
            GROUP BY h.account_id
        ),
        ranged AS (
            SELECT r.account_id, r.territory_id,
                   CASE WHEN %(view)s = 'restated' OR r.valid_from <= f.first_from THEN '-infinity'::date
                        ELSE r.valid_from END AS lo,
                   CASE WHEN %(view)s = 'restated' THEN 'infinity'::date
                        ELSE coalesce(r.valid_to, 'infinity'::date) END AS hi
            FROM reached r JOIN first_membership f ON f.account_id = r.account_id
        ),
        bound AS (
            SELECT account_id, lo AS at FROM ranged UNION SELECT account_id, hi FROM ranged
        ),
        piece AS (
            SELECT account_id, at AS lo, lead(at) OVER (PARTITION BY account_id ORDER BY at) AS hi FROM bound
        )
        SELECT p.account_id, p.lo, p.hi, array_agg(DISTINCT g.territory_id ORDER BY g.territory_id) AS holders
        FROM piece p JOIN ranged g ON g.account_id = p.account_id AND g.lo <= p.lo AND p.lo < g.hi
        WHERE p.hi IS NOT NULL
        GROUP BY p.account_id, p.lo, p.hi;

        CREATE TEMP TABLE kpi_signature ON COMMIT DROP AS
        SELECT row_number() OVER () AS sig_id, holders FROM (SELECT DISTINCT holders FROM kpi_account_interval) s;

        CREATE TEMP TABLE kpi_interval ON COMMIT DROP AS
        SELECT i.account_id, i.lo, i.hi, s.sig_id
        FROM kpi_account_interval i JOIN kpi_signature s ON s.holders = i.holders;

        CREATE TEMP TABLE kpi_sig_territory ON COMMIT DROP AS
        SELECT DISTINCT s.sig_id, r.territory_id
        FROM kpi_signature s CROSS JOIN LATERAL unnest(s.holders) h(id)
        JOIN kpi_reach r ON r.descendant_id = h.id AND NOT r.is_product;
        ANALYZE kpi_interval;
        ANALYZE kpi_sig_territory
        """,
    ),
    (
        "deal ranges",
        """
        CREATE TEMP TABLE kpi_deal_range ON COMMIT DROP AS
        WITH reached AS (
            SELECT r.territory_id, mb.deal_id, mb.valid_from, mb.valid_to
            FROM kpi_reach r
            JOIN territories_dealterritorymembership mb ON mb.territory_id = r.descendant_id
            WHERE r.is_product AND (%(view)s = 'as_of' OR mb.valid_to IS NULL)
        ),
        first_membership AS (
            SELECT h.deal_id, min(h.valid_from) AS first_from
            FROM territories_dealterritorymembership h
            JOIN territories_territory ht ON ht.id = h.territory_id
            JOIN territories_territorymodel hm ON hm.id = ht.territory_model_id
            WHERE hm.state <> 'planning' AND h.deal_id IN (SELECT deal_id FROM reached)
            GROUP BY h.deal_id
        )
        SELECT territory_id, deal_id, lower(span) AS lo, upper(span) AS hi
        FROM (
            SELECT r.territory_id, r.deal_id, unnest(range_agg(daterange(
                CASE WHEN %(view)s = 'restated' OR r.valid_from <= f.first_from THEN '-infinity'::date
                     ELSE r.valid_from END,
                CASE WHEN %(view)s = 'restated' THEN 'infinity'::date
                     ELSE coalesce(r.valid_to, 'infinity'::date) END
            ))) AS span
            FROM reached r JOIN first_membership f ON f.deal_id = r.deal_id
            GROUP BY r.territory_id, r.deal_id
        ) merged
        """,
    ),
    (
        "credits",
        # Deals of accounts, by signature (the interval holding the deal's date), and (territory, deal)
        # credits of product territories (deal memberships; ranges merged, so a deal appears once).
        """
        CREATE TEMP TABLE kpi_sig_deal ON COMMIT DROP AS
        SELECT i.sig_id, d.account_id, d.campaign_id, pr.product_line_id, d.amount, d.stage, d.probability,
               d.created_on, d.closed_on, d.expected_close_on
        FROM kpi_interval i
        JOIN accounts_deal d ON d.account_id = i.account_id
        LEFT JOIN accounts_product pr ON pr.id = d.product_id
        WHERE coalesce(d.closed_on, %(today)s::date) >= i.lo AND coalesce(d.closed_on, %(today)s::date) < i.hi;

        CREATE TEMP TABLE kpi_credit ON COMMIT DROP AS
        SELECT s.id AS territory_id, d.account_id, d.campaign_id, pr.product_line_id, d.amount, d.stage,
               d.probability, d.created_on, d.closed_on, d.expected_close_on
        FROM kpi_scope s
        JOIN kpi_deal_range dr ON dr.territory_id = s.id
        JOIN accounts_deal d ON d.id = dr.deal_id
        LEFT JOIN accounts_product pr ON pr.id = d.product_id
        WHERE s.is_product
          AND coalesce(d.closed_on, %(today)s::date) >= dr.lo AND coalesce(d.closed_on, %(today)s::date) < dr.hi;

        -- Scope territories each signature counts for (non-product territories measure account deals).
        CREATE TEMP TABLE kpi_sig_scope ON COMMIT DROP AS
        SELECT st.sig_id, st.territory_id
        FROM kpi_sig_territory st JOIN kpi_scope s ON s.id = st.territory_id AND NOT s.is_product;
        ANALYZE kpi_sig_deal;
        ANALYZE kpi_credit;
        ANALYZE kpi_sig_scope
        """,
    ),
    (
        "customers",
        # First won deal of the territory per account, and the accounts each territory measures.
        """
        CREATE TEMP TABLE kpi_first_won ON COMMIT DROP AS
        SELECT ss.territory_id, w.account_id, min(w.first_won) AS first_won
        FROM (
            SELECT sig_id, account_id, min(closed_on) AS first_won
            FROM kpi_sig_deal WHERE stage = 'won' GROUP BY sig_id, account_id
        ) w
        JOIN kpi_sig_scope ss ON ss.sig_id = w.sig_id
        GROUP BY ss.territory_id, w.account_id
        UNION ALL
        SELECT territory_id, account_id, min(closed_on)
        FROM kpi_credit WHERE stage = 'won'
        GROUP BY territory_id, account_id;

        -- Intervals, not merged ranges: they are disjoint per account, so the +1/-1 events below add up
        -- to the same month-end counts.
        CREATE TEMP TABLE kpi_scope_account ON COMMIT DROP AS
        SELECT s.id AS territory_id, i.account_id, i.lo, i.hi
        FROM kpi_scope s
        JOIN kpi_sig_territory st ON st.territory_id = s.account_source_id
        JOIN kpi_interval i ON i.sig_id = st.sig_id
        UNION ALL
        SELECT s.id, a.id, '-infinity'::date, 'infinity'::date
        FROM kpi_scope s CROSS JOIN accounts_account a
        WHERE s.account_source_id IS NULL;
        ANALYZE kpi_first_won;
        ANALYZE kpi_scope_account;

        -- Month events: +1 when an account enters (is penetrated in) the territory, -1 when it leaves.
        -- "In T at the end of month m" <=> month(lo) <= m < month(hi); events before the calendar clamp to its start.
        -- Each kind of event counted per (territory, date) on its own, then per month: under half the
        -- time of unpivoting every interval into its four events (0.8 s against 2.1 s at 800,000 intervals).
        CREATE TEMP TABLE kpi_account_event ON COMMIT DROP AS
        WITH sa AS MATERIALIZED (
            SELECT sa.territory_id, sa.lo, sa.hi,
                   CASE WHEN fw.first_won IS NOT NULL AND greatest(sa.lo, fw.first_won) < sa.hi
                        THEN greatest(sa.lo, fw.first_won) END AS penetrated_from
            FROM kpi_scope_account sa
            LEFT JOIN kpi_first_won fw ON fw.territory_id = sa.territory_id AND fw.account_id = sa.account_id
        ),
        event AS (
            SELECT territory_id, lo AS at, count(*) AS accounts, 0::bigint AS penetrated FROM sa GROUP BY 1, 2
            UNION ALL
            SELECT territory_id, hi, -count(*), 0 FROM sa WHERE hi <> 'infinity'::date GROUP BY 1, 2
            UNION ALL
            SELECT territory_id, penetrated_from, 0, count(*) FROM sa WHERE penetrated_from IS NOT NULL GROUP BY 1, 2
            UNION ALL
            SELECT territory_id, hi, 0, -count(*) FROM sa
            WHERE penetrated_from IS NOT NULL AND hi <> 'infinity'::date GROUP BY 1, 2
        )
        SELECT territory_id,
               greatest(date_trunc('month', at::timestamp)::date, (SELECT min(month) FROM kpi_calendar)) AS month,
               sum(accounts)::bigint AS accounts, sum(penetrated)::bigint AS penetrated
        FROM event
        GROUP BY 1, 2;
        ANALYZE kpi_account_event
        """,
    ),
    (
        "months",
        # Additive figures per (signature, month) — by closing (or expected closing) month and by creation
        # month — then per territory: a signature's deals count once for each territory it stands for.
        """
        CREATE TEMP TABLE kpi_base ON COMMIT DROP AS
        WITH closing AS (
            SELECT sig_id, date_trunc('month', coalesce(closed_on, expected_close_on)::timestamp)::date AS month,
                   sum(amount) FILTER (WHERE stage = 'won' AND closed_on IS NOT NULL) AS revenue,
                   count(*) FILTER (WHERE stage = 'won' AND closed_on IS NOT NULL) AS won,
                   count(*) FILTER (WHERE stage = 'lost' AND closed_on IS NOT NULL) AS lost,
                   sum(amount) FILTER (WHERE closed_on IS NULL) AS pipeline,
                   sum(amount * probability / 100) FILTER (WHERE closed_on IS NULL) AS weighted
            FROM kpi_sig_deal WHERE coalesce(closed_on, expected_close_on) IS NOT NULL
            GROUP BY 1, 2
        ),
        creation AS (
            SELECT sig_id, date_trunc('month', created_on::timestamp)::date AS month, count(*) AS created,
                   count(*) FILTER (WHERE stage = 'won') AS created_won
            FROM kpi_sig_deal GROUP BY 1, 2
        ),
        by_signature AS (
            SELECT sig_id, month, c.revenue, c.won, c.lost, c.pipeline, c.weighted, n.created, n.created_won
            FROM closing c FULL JOIN creation n USING (sig_id, month)
        ),
        product AS (
            SELECT territory_id, month, c.revenue, c.won, c.lost, c.pipeline, c.weighted, n.created, n.created_won
            FROM (
                SELECT territory_id, date_trunc('month', coalesce(closed_on, expected_close_on)::timestamp)::date
                           AS month,
                       sum(amount) FILTER (WHERE stage = 'won' AND closed_on IS NOT NULL) AS revenue,
                       count(*) FILTER (WHERE stage = 'won' AND closed_on IS NOT NULL) AS won,
                       count(*) FILTER (WHERE stage = 'lost' AND closed_on IS NOT NULL) AS lost,
                       sum(amount) FILTER (WHERE closed_on IS NULL) AS pipeline,
                       sum(amount * probability / 100) FILTER (WHERE closed_on IS NULL) AS weighted
                FROM kpi_credit WHERE coalesce(closed_on, expected_close_on) IS NOT NULL
                GROUP BY 1, 2
            ) c
            FULL JOIN (
                SELECT territory_id, date_trunc('month', created_on::timestamp)::date AS month, count(*) AS created,
                       count(*) FILTER (WHERE stage = 'won') AS created_won
                FROM kpi_credit GROUP BY 1, 2
            ) n USING (territory_id, month)
        )
        SELECT ss.territory_id, b.month, sum(b.revenue) AS revenue, sum(b.won) AS won, sum(b.lost) AS lost,
               sum(b.pipeline) AS pipeline, sum(b.weighted) AS weighted, sum(b.created) AS created,
               sum(b.created_won) AS created_won
        FROM by_signature b JOIN kpi_sig_scope ss ON ss.sig_id = b.sig_id
        GROUP BY ss.territory_id, b.month
        UNION ALL
        SELECT territory_id, month, revenue, won, lost, pipeline, weighted, created, created_won FROM product;
        ANALYZE kpi_base;

        CREATE TEMP TABLE kpi_month ON COMMIT DROP AS
        SELECT s.id AS territory_id, cal.month,
               coalesce(b.revenue, 0) AS revenue, coalesce(b.won, 0) AS won, coalesce(b.lost, 0) AS lost,
               coalesce(b.pipeline, 0) AS pipeline, coalesce(b.weighted, 0) AS weighted,
               coalesce(b.created, 0) AS created, coalesce(b.created_won, 0) AS created_won,
               coalesce(nc.new_customers, 0) AS new_customers,
               sum(coalesce(ev.accounts, 0)) OVER w AS accounts_end,
               sum(coalesce(ev.penetrated, 0)) OVER w AS penetrated_end
        FROM kpi_scope s
        CROSS JOIN kpi_calendar cal
        LEFT JOIN kpi_base b ON b.territory_id = s.id AND b.month = cal.month
        LEFT JOIN (
            SELECT territory_id, date_trunc('month', first_won::timestamp)::date AS month, count(*) AS new_customers
            FROM kpi_first_won GROUP BY 1, 2
        ) nc ON nc.territory_id = s.id AND nc.month = cal.month
        LEFT JOIN kpi_account_event ev ON ev.territory_id = s.id AND ev.month = cal.month
        WINDOW w AS (PARTITION BY s.id ORDER BY cal.month);
        ANALYZE kpi_month
        """,
    ),
    (
        "periods",
        # Quarters sum their months and years their quarters (each level grouped from the one below); account
        # counts are those at the period's last month.
        """
        CREATE TEMP TABLE kpi_period ON COMMIT DROP AS
        WITH quarter AS MATERIALIZED (
            SELECT territory_id, date_trunc('quarter', month::timestamp)::date AS period_start,
                   sum(revenue) AS revenue, sum(won) AS won, sum(lost) AS lost, sum(pipeline) AS pipeline,
                   sum(weighted) AS weighted, sum(created) AS created, sum(created_won) AS created_won,
                   sum(new_customers) AS new_customers,
                   (array_agg(accounts_end ORDER BY month DESC))[1] AS accounts_end,
                   (array_agg(penetrated_end ORDER BY month DESC))[1] AS penetrated_end
            FROM kpi_month GROUP BY 1, 2
        )
        SELECT territory_id, 'month'::text AS period_type, month AS period_start, revenue, won, lost, pipeline,
               weighted, created, created_won, new_customers, accounts_end, penetrated_end
        FROM kpi_month
        UNION ALL
        SELECT territory_id, 'quarter', period_start, revenue, won, lost, pipeline, weighted, created, created_won,
               new_customers, accounts_end, penetrated_end
        FROM quarter
        UNION ALL
        SELECT territory_id, 'year', date_trunc('year', period_start::timestamp)::date,
               sum(revenue), sum(won), sum(lost), sum(pipeline), sum(weighted), sum(created), sum(created_won),
               sum(new_customers),
               (array_agg(accounts_end ORDER BY period_start DESC))[1],
               (array_agg(penetrated_end ORDER BY period_start DESC))[1]
        FROM quarter
        GROUP BY territory_id, date_trunc('year', period_start::timestamp)
        """,
    ),
    (
        "targets",
        # A quarter or year target is the one set, else the sum of its month targets.
        "CREATE TEMP TABLE kpi_revenue_target ON COMMIT DROP AS "
        + revenue_targets(scope="JOIN kpi_scope s ON s.id = kt.territory_id"),
    ),
    (
        "values",
        # The new rows of the scope (targeted recompute; a full one writes them straight into the new partition).
        "CREATE TEMP TABLE kpi_new ON COMMIT DROP AS " + FIGURE_ROWS + ";\n"
        "CREATE TEMP TABLE kpi_campaign_new ON COMMIT DROP AS " + CAMPAIGN_ROWS + ";\n"
        "CREATE TEMP TABLE kpi_breakdown_new ON COMMIT DROP AS " + BREAKDOWN_ROWS + ";\n"
        "ANALYZE kpi_new; ANALYZE kpi_campaign_new; ANALYZE kpi_breakdown_new",
    ),
    (
        "swap",
        # Targeted: rows whose key exists are updated in place (no indexed column changes, so the updates
        # can be HOT and add no index entries; a delete + insert of the same keys left dead duplicates that
        # every later unique check visited), keys new to the scope are inserted, vanished ones deleted.
        """
        UPDATE kpis_kpifigure r
        SET """
        + ", ".join(f"{column} = n.{column}" for column in FIGURE_COLUMNS)
        + """, computed_at = %(computed_at)s
        FROM kpi_new n
        WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s)
          AND r.territory_id = n.territory_id AND r.period_type = n.period_type AND r.period_start = n.period_start;

        DELETE FROM kpis_kpifigure r
        WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s)
          AND NOT EXISTS (
              SELECT FROM kpi_new n
              WHERE n.territory_id = r.territory_id AND n.period_type = r.period_type
                AND n.period_start = r.period_start
          );

        INSERT INTO kpis_kpifigure (territory_id, view, period_type, period_start, """
        + FIGURE_LIST
        + """, computed_at)
        SELECT n.territory_id, %(view)s, n.period_type, n.period_start, """
        + NEW_FIGURE_LIST
        + """, %(computed_at)s
        FROM kpi_new n
        WHERE NOT EXISTS (
            SELECT FROM kpis_kpifigure r
            WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s)
              AND r.territory_id = n.territory_id AND r.period_type = n.period_type
              AND r.period_start = n.period_start
        )
        ORDER BY n.territory_id, n.period_type, n.period_start;

        UPDATE kpis_kpicampaignrollup r
        SET revenue = n.revenue, deals_won = n.deals_won, computed_at = %(computed_at)s
        FROM kpi_campaign_new n
        WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s)
          AND r.territory_id = n.territory_id AND coalesce(r.campaign_id, 0) = coalesce(n.campaign_id, 0)
          AND r.period_type = n.period_type AND r.period_start = n.period_start;

        DELETE FROM kpis_kpicampaignrollup r
        WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s)
          AND NOT EXISTS (
              SELECT FROM kpi_campaign_new n
              WHERE n.territory_id = r.territory_id AND coalesce(n.campaign_id, 0) = coalesce(r.campaign_id, 0)
                AND n.period_type = r.period_type AND n.period_start = r.period_start
          );

        INSERT INTO kpis_kpicampaignrollup
            (territory_id, campaign_id, view, period_type, period_start, revenue, deals_won, computed_at)
        SELECT n.territory_id, n.campaign_id, %(view)s, n.period_type, n.period_start, n.revenue, n.deals_won,
               %(computed_at)s
        FROM kpi_campaign_new n
        WHERE NOT EXISTS (
            SELECT FROM kpis_kpicampaignrollup r
            WHERE r.view = %(view)s AND r.territory_id = ANY(%(territory_ids)s) AND r.territory_id = n.territory_id
              AND coalesce(r.campaign_id, 0) = coalesce(n.campaign_id, 0)
              AND r.period_type = n.period_type AND r.period_start = n.period_start
        )
        ORDER BY n.territory_id, n.period_type, n.period_start, n.campaign_id;
        """
        + BREAKDOWN_TARGETED_SWAP,
    ),
]


# A full recompute of a view: build a fresh partition of each rollup table (unindexed while the rows go
# in, then PRIMARY KEY / UNIQUE / index built by sorting), then swap it for the old one. Identifiers are
# formatted from PARTITIONS (fixed names, never input); the DETACH takes an ACCESS EXCLUSIVE lock on the
# parent until commit, so readers wait the few milliseconds of the commit and see old or new rows only.
# ANALYZE: a targeted recompute's UPDATE … FROM on an unanalyzed partition of millions of rows was planned
# as a scan of the whole partition.
FULL_BUILD = """
DROP TABLE IF EXISTS {figure}_build;
CREATE TABLE {figure}_build (LIKE kpis_kpifigure INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (fillfactor = 90);
ALTER TABLE {figure}_build ADD CONSTRAINT {figure}_build_view CHECK (view = %(view)s);
INSERT INTO {figure}_build (id, territory_id, view, period_type, period_start, {figure_columns}, computed_at)
SELECT nextval('kpis_kpifigure_id_seq'), n.territory_id, %(view)s, n.period_type, n.period_start,
       {figure_values}, %(computed_at)s
FROM ({figure_rows}) n;
ALTER TABLE {figure}_build ADD CONSTRAINT {figure}_build_pkey PRIMARY KEY (id, view);
ALTER TABLE {figure}_build ADD CONSTRAINT {figure}_build_unique UNIQUE (territory_id, period_start, period_type, view);
CREATE INDEX {figure}_build_period ON {figure}_build (period_start, period_type);
ANALYZE {figure}_build
"""

# The campaign and breakdown partitions of a full build: in the recompute's own transaction after
# FULL_BUILD, or built beside it by a second session (dimension_steps; see services._dimensions_beside).
DIMENSION_BUILD = """
DROP TABLE IF EXISTS {campaign}_build;
CREATE TABLE {campaign}_build (LIKE kpis_kpicampaignrollup INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    WITH (fillfactor = 90);
ALTER TABLE {campaign}_build ADD CONSTRAINT {campaign}_build_view CHECK (view = %(view)s);
INSERT INTO {campaign}_build
    (id, territory_id, campaign_id, view, period_type, period_start, revenue, deals_won, computed_at)
SELECT nextval('kpis_kpicampaignrollup_id_seq'), n.territory_id, n.campaign_id, %(view)s, n.period_type,
       n.period_start, n.revenue, n.deals_won, %(computed_at)s
FROM ({campaign_rows}) n;
ALTER TABLE {campaign}_build ADD CONSTRAINT {campaign}_build_pkey PRIMARY KEY (id, view);
ALTER TABLE {campaign}_build ADD CONSTRAINT {campaign}_build_unique
    UNIQUE NULLS NOT DISTINCT (territory_id, period_start, campaign_id, period_type, view);
ANALYZE {campaign}_build;

DROP TABLE IF EXISTS {breakdown}_build;
CREATE TABLE {breakdown}_build (LIKE kpis_kpibreakdownrollup INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    WITH (fillfactor = 90);
ALTER TABLE {breakdown}_build ADD CONSTRAINT {breakdown}_build_view CHECK (view = %(view)s);
INSERT INTO {breakdown}_build (id, territory_id, dimension, stage, product_line_id, view, period_type,
    period_start, deals, amount, weighted, computed_at)
SELECT nextval('kpis_kpibreakdownrollup_id_seq'), n.territory_id, n.dimension, n.stage, n.product_line_id,
       %(view)s, n.period_type, n.period_start, n.deals, n.amount, n.weighted, %(computed_at)s
FROM ({breakdown_rows}) n;
ALTER TABLE {breakdown}_build ADD CONSTRAINT {breakdown}_build_pkey PRIMARY KEY (id, view);
ALTER TABLE {breakdown}_build ADD CONSTRAINT {breakdown}_build_unique
    UNIQUE NULLS NOT DISTINCT (territory_id, view, period_type, period_start, dimension, stage, product_line_id);
ANALYZE {breakdown}_build
"""

# The tables the partition swap takes ACCESS EXCLUSIVE locks on (a parent's lock covers its partitions).
ROLLUP_PARENTS = ["kpis_kpifigure", "kpis_kpicampaignrollup", "kpis_kpibreakdownrollup"]

FULL_SWAP = """
ALTER TABLE kpis_kpifigure DETACH PARTITION {figure};
DROP TABLE {figure};
ALTER TABLE kpis_kpifigure ATTACH PARTITION {figure}_build FOR VALUES IN (%(view)s);
ALTER TABLE {figure}_build RENAME TO {figure};
ALTER INDEX {figure}_build_pkey RENAME TO {figure}_pkey;
ALTER INDEX {figure}_build_unique RENAME TO {figure}_unique;
ALTER INDEX {figure}_build_period RENAME TO {figure}_period;
ALTER TABLE {figure} RENAME CONSTRAINT {figure}_build_view TO {figure}_view;

ALTER TABLE kpis_kpicampaignrollup DETACH PARTITION {campaign};
DROP TABLE {campaign};
ALTER TABLE kpis_kpicampaignrollup ATTACH PARTITION {campaign}_build FOR VALUES IN (%(view)s);
ALTER TABLE {campaign}_build RENAME TO {campaign};
ALTER INDEX {campaign}_build_pkey RENAME TO {campaign}_pkey;
ALTER INDEX {campaign}_build_unique RENAME TO {campaign}_unique;
ALTER TABLE {campaign} RENAME CONSTRAINT {campaign}_build_view TO {campaign}_view;

ALTER TABLE kpis_kpibreakdownrollup DETACH PARTITION {breakdown};
DROP TABLE {breakdown};
ALTER TABLE kpis_kpibreakdownrollup ATTACH PARTITION {breakdown}_build FOR VALUES IN (%(view)s);
ALTER TABLE {breakdown}_build RENAME TO {breakdown};
ALTER INDEX {breakdown}_build_pkey RENAME TO {breakdown}_pkey;
ALTER INDEX {breakdown}_build_unique RENAME TO {breakdown}_unique;
ALTER TABLE {breakdown} RENAME CONSTRAINT {breakdown}_build_view TO {breakdown}_view;

-- A partition swapped in by DDL fires no trigger: tell the cached page figures (core.data_version).
INSERT INTO core_datachange DEFAULT VALUES
"""

# The partitions (migration kpis/0005) per view.
PARTITIONS = {
    "as_of": {
        "figure": "kpis_kpifigure_as_of",
        "campaign": "kpis_kpicampaignrollup_as_of",
        "breakdown": "kpis_kpibreakdownrollup_as_of",
    },
    "restated": {
        "figure": "kpis_kpifigure_restated",
        "campaign": "kpis_kpicampaignrollup_restated",
        "breakdown": "kpis_kpibreakdownrollup_restated",
    },
}


def steps(*, view: str, full: bool, dimensions: bool = True) -> list[tuple[str, str]]:
    """The statements of one recompute: the shared steps, then the targeted swap (STEPS as they are) or,
    for a full recompute, the partition "build" and "swap" in place of "values" and "swap" (the caller takes
    the swap's locks, ROLLUP_PARENTS, giving way to long readers). dimensions=False: a full build without
    the campaign and breakdown partitions, which another session builds (dimension_steps)."""
    if not full:
        return list(STEPS)
    names = PARTITIONS[view]
    build = FULL_BUILD.format(
        **names, figure_rows=FIGURE_ROWS, figure_columns=FIGURE_LIST, figure_values=NEW_FIGURE_LIST
    )
    if dimensions:
        build += ";\n" + dimension_build(view=view)
    steps = [step for step in STEPS if step[0] not in ("values", "swap")]
    return [*steps, ("build", build), ("swap", FULL_SWAP.format(**names))]


def dimension_build(*, view: str) -> str:
    return DIMENSION_BUILD.format(**PARTITIONS[view], campaign_rows=CAMPAIGN_ROWS, breakdown_rows=BREAKDOWN_ROWS)


# What the campaign and breakdown rows read (kpi_sig_deal, kpi_sig_scope, kpi_credit): the steps a second
# session runs before DIMENSION_BUILD.
DIMENSION_INPUTS = ("scope", "reach", "account intervals", "deal ranges", "credits")


def dimension_steps(*, view: str) -> list[tuple[str, str]]:
    """A full recompute's campaign and breakdown partitions, built by a session of their own."""
    return [step for step in STEPS if step[0] in DIMENSION_INPUTS] + [("build", dimension_build(view=view))]


# Between the views of one recompute (the calendar stays).
VIEW_CLEANUP = """
DROP TABLE IF EXISTS kpi_scope, kpi_reach, kpi_account_interval, kpi_signature, kpi_interval,
    kpi_sig_territory, kpi_deal_range, kpi_sig_deal, kpi_credit, kpi_sig_scope, kpi_base,
    kpi_first_won, kpi_scope_account, kpi_account_event, kpi_month, kpi_period, kpi_revenue_target,
    kpi_new, kpi_campaign_new, kpi_breakdown_new
"""

CLEANUP = VIEW_CLEANUP + ";\nDROP TABLE IF EXISTS kpi_calendar"


# --- Delta maintenance: pending deal changes applied to the stored rollups (docs/KPIS.md) ---
#
# Parameters: views (text[]: the views to maintain), model_id, today, cal_first / cal_last (the stored
# calendar's first and last month), computed_at. The changes are taken (deleted) from kpis_dealchange
# by the statement itself. Every step is set-based over the changed deals, their accounts' memberships and
# the accounts' won deals; nothing scans the deals or the rollups at large.

DEAL_COLUMNS = ("account_id", "campaign_id", "amount", "stage", "probability", "created_on", "expected_close_on",
                "closed_on", "product_id")  # fmt: skip


def _columns(prefix: str, alias: str = "") -> str:
    return ", ".join(f"{alias}{prefix}{c}" for c in DEAL_COLUMNS)


# The territories (any model) whose rollups the taken changes touch, for the fallback to a targeted
# recompute: every territory the deals' old and new accounts were ever in, and the deals' product territories.
CHANGES_TERRITORIES = """
WITH kpi_change AS (DELETE FROM kpis_dealchange RETURNING deal_id, old_account_id, new_account_id)
SELECT mb.territory_id FROM territories_accountterritorymembership mb
WHERE mb.account_id IN (SELECT old_account_id FROM kpi_change UNION SELECT new_account_id FROM kpi_change)
UNION
SELECT dm.territory_id FROM territories_dealterritorymembership dm
WHERE dm.deal_id IN (SELECT deal_id FROM kpi_change)
"""

# Before a delta, in one statement: how many changes are pending (and for how many deals: nothing else
# takes them while this writer runs), the active model, the calendar the deals give now (index scans:
# min/max per indexed column), the one stored per view (the month rows of one territory of the active
# model), and whether this session has the delta statement prepared.
DELTA_CHECK = """
WITH counts AS (SELECT count(*) AS changes, count(DISTINCT deal_id) AS deals FROM kpis_dealchange),
model AS (SELECT (SELECT id FROM territories_territorymodel WHERE state = 'active' ORDER BY id LIMIT 1) AS id),
b AS (
    SELECT least((SELECT min(created_on) FROM accounts_deal),
                 (SELECT min(expected_close_on) FROM accounts_deal WHERE closed_on IS NULL)) AS lo,
           greatest((SELECT max(created_on) FROM accounts_deal), (SELECT max(closed_on) FROM accounts_deal),
                    (SELECT max(expected_close_on) FROM accounts_deal WHERE closed_on IS NULL),
                    %(today)s::date) AS hi
    FROM counts WHERE counts.changes > 0
)
SELECT counts.changes, counts.deals, model.id,
       date_trunc('month', b.lo::timestamp)::date, date_trunc('month', b.hi::timestamp)::date,
       (SELECT coalesce(json_agg(json_build_array(s.view, s.first_month, s.last_month, s.months)), '[]')
        FROM (
            SELECT r.view, min(r.period_start)::text AS first_month, max(r.period_start)::text AS last_month,
                   count(*) AS months
            FROM kpis_kpifigure r
            WHERE r.territory_id = (SELECT min(id) FROM territories_territory WHERE territory_model_id = model.id)
              AND r.period_type = 'month' AND counts.changes > 0
            GROUP BY r.view
        ) s),
       EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = %(prepared)s)
FROM counts CROSS JOIN model LEFT JOIN b ON true
"""

# The delta reads a handful of rows through indexes; its temporary tables have no statistics, and a
# hash join guessed from their default size scans a whole rollup partition. JIT only compiles.
# Prepared once per session with a generic plan: planning the statement took as long as running it.
DELTA_SETTINGS = (
    "SET LOCAL jit = off; SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; "
    "SET LOCAL enable_mergejoin = off; SET LOCAL plan_cache_mode = force_generic_plan"
)
DELTA_SETTINGS_RESET = (
    "SET LOCAL enable_seqscan = on; SET LOCAL enable_hashjoin = on; SET LOCAL enable_mergejoin = on; "
    "SET LOCAL plan_cache_mode = auto"
)
DELTA_PARAMETERS = [  # (name, type) in the order of $1, $2, … of the prepared statement
    ("views", "text[]"),
    ("model_id", "bigint"),
    ("today", "date"),
    ("cal_first", "date"),
    ("cal_last", "date"),
    ("computed_at", "timestamptz"),
]


def delta_prepared(sql: str) -> tuple[str, str]:
    """(name, PREPARE statement) for a delta statement written with %(name)s parameters; the name follows
    the text, so a changed statement is prepared anew."""
    import zlib

    name = f"kpi_delta_{zlib.crc32(sql.encode()):08x}"
    body = sql
    for position, (parameter, _) in enumerate(DELTA_PARAMETERS, start=1):
        body = body.replace(f"%({parameter})s", f"${position}")
    types = ", ".join(kind for _, kind in DELTA_PARAMETERS)
    return name, f"PREPARE {name} ({types}) AS {body}"


# One statement (a temporary table per step cost more in catalog writes than the step itself): the pending
# changes are deleted and returned by the first CTE, the figures and campaign rows updated by data-modifying
# CTEs (disjoint rows: a campaign key is updated, inserted or deleted, never two of these), and the result is
# the territories of the delta without the rows it updates (created since their last recompute), which the
# caller recomputes instead.
DELTA_SQL = f"""
WITH kpi_change AS (DELETE FROM kpis_dealchange RETURNING *),
-- Each changed deal once: its row before the first pending change (side -1) and after the last (+1); a
-- chain that ends where it began changes nothing.
kpi_delta_deal AS (
    WITH chain AS (SELECT deal_id, min(id) AS first_id, max(id) AS last_id FROM kpi_change GROUP BY deal_id),
    ends AS (
        SELECT ch.deal_id, {_columns("old_", "f.")}, {_columns("new_", "l.")}
        FROM chain ch JOIN kpi_change f ON f.id = ch.first_id JOIN kpi_change l ON l.id = ch.last_id
        WHERE ({_columns("old_", "f.")}) IS DISTINCT FROM ({_columns("new_", "l.")})
    )
    SELECT -1 AS side, deal_id, {", ".join(f"old_{c} AS {c}" for c in DEAL_COLUMNS)}
    FROM ends WHERE old_account_id IS NOT NULL
    UNION ALL
    SELECT 1, deal_id, {_columns("new_")} FROM ends WHERE new_account_id IS NOT NULL
),
-- What to credit: the changed rows, and (side 0, for first-won) the other won deals of their accounts.
kpi_delta_input AS (
    SELECT * FROM kpi_delta_deal
    UNION ALL
    SELECT 0, d.id, {_columns("", "d.")}
    FROM accounts_deal d
    WHERE d.account_id = ANY(ARRAY(SELECT account_id FROM kpi_delta_deal)) AND d.stage = 'won'
      AND d.id <> ALL(ARRAY(SELECT deal_id FROM kpi_delta_deal))
),
-- The accounts' ranges per measured (active, non-product) territory and view: as-of, every non-planning
-- membership whose territory or an ancestor has the measured territory's code (each account's earliest
-- membership reaching back to -infinity); restated, the current memberships of the active model.
kpi_delta_account_range AS (
    WITH ms AS (
        SELECT mb.account_id, mb.territory_id, mb.valid_from, mb.valid_to, ht.territory_model_id
        FROM territories_accountterritorymembership mb
        JOIN territories_territory ht ON ht.id = mb.territory_id
        JOIN territories_territorymodel hm ON hm.id = ht.territory_model_id
        WHERE mb.account_id = ANY(ARRAY(SELECT account_id FROM kpi_delta_input)) AND hm.state <> 'planning'
    ),
    as_of AS (
        SELECT account_id, territory_id,
               CASE WHEN valid_from <= min(valid_from) OVER (PARTITION BY account_id) THEN '-infinity'::date
                    ELSE valid_from END AS lo,
               coalesce(valid_to, 'infinity'::date) AS hi
        FROM ms WHERE 'as_of' = ANY(%(views)s)
    )
    SELECT DISTINCT 'as_of'::text AS view, t.id AS territory_id, r.account_id, r.lo, r.hi
    FROM as_of r
    JOIN territories_territoryclosure c ON c.descendant_id = r.territory_id
    JOIN territories_territory a ON a.id = c.ancestor_id
    JOIN territories_territory t ON t.territory_model_id = %(model_id)s AND t.code = a.code AND t.kind <> 'product'
    UNION ALL
    SELECT DISTINCT 'restated', c.ancestor_id, r.account_id, '-infinity'::date, 'infinity'::date
    FROM ms r
    JOIN territories_territoryclosure c ON c.descendant_id = r.territory_id
    JOIN territories_territory t ON t.id = c.ancestor_id AND t.kind <> 'product'
    WHERE 'restated' = ANY(%(views)s) AND r.territory_model_id = %(model_id)s AND r.valid_to IS NULL
),
-- The same for the deals' product territories (deal memberships).
kpi_delta_deal_range AS (
    WITH ms AS (
        SELECT dm.deal_id, dm.territory_id, dm.valid_from, dm.valid_to, ht.territory_model_id
        FROM territories_dealterritorymembership dm
        JOIN territories_territory ht ON ht.id = dm.territory_id
        JOIN territories_territorymodel hm ON hm.id = ht.territory_model_id
        WHERE dm.deal_id = ANY(ARRAY(SELECT deal_id FROM kpi_delta_input)) AND hm.state <> 'planning'
    ),
    as_of AS (
        SELECT deal_id, territory_id,
               CASE WHEN valid_from <= min(valid_from) OVER (PARTITION BY deal_id) THEN '-infinity'::date
                    ELSE valid_from END AS lo,
               coalesce(valid_to, 'infinity'::date) AS hi
        FROM ms WHERE 'as_of' = ANY(%(views)s)
    )
    SELECT DISTINCT 'as_of'::text AS view, t.id AS territory_id, r.deal_id, r.lo, r.hi
    FROM as_of r
    JOIN territories_territoryclosure c ON c.descendant_id = r.territory_id
    JOIN territories_territory a ON a.id = c.ancestor_id
    JOIN territories_territory t ON t.territory_model_id = %(model_id)s AND t.code = a.code AND t.kind = 'product'
    UNION ALL
    SELECT DISTINCT 'restated', c.ancestor_id, r.deal_id, '-infinity'::date, 'infinity'::date
    FROM ms r
    JOIN territories_territoryclosure c ON c.descendant_id = r.territory_id
    JOIN territories_territory t ON t.id = c.ancestor_id AND t.kind = 'product'
    WHERE 'restated' = ANY(%(views)s) AND r.territory_model_id = %(model_id)s AND r.valid_to IS NULL
),
-- Credits: (view, territory, input row) once each — the range holding the deal's date (closed_on, else today).
kpi_delta_credit AS (
    SELECT ar.view, ar.territory_id, i.*
    FROM kpi_delta_input i
    JOIN kpi_delta_account_range ar ON ar.account_id = i.account_id
     AND coalesce(i.closed_on, %(today)s::date) >= ar.lo AND coalesce(i.closed_on, %(today)s::date) < ar.hi
    UNION
    SELECT dr.view, dr.territory_id, i.*
    FROM kpi_delta_input i
    JOIN kpi_delta_deal_range dr ON dr.deal_id = i.deal_id
     AND coalesce(i.closed_on, %(today)s::date) >= dr.lo AND coalesce(i.closed_on, %(today)s::date) < dr.hi
),
-- First won deal of the territory per account, before and after, where it moved.
kpi_delta_first_won AS (
    SELECT view, territory_id, account_id,
           min(closed_on) FILTER (WHERE side <= 0) AS before, min(closed_on) FILTER (WHERE side >= 0) AS after
    FROM kpi_delta_credit WHERE stage = 'won'
    GROUP BY 1, 2, 3
    HAVING min(closed_on) FILTER (WHERE side <= 0) IS DISTINCT FROM min(closed_on) FILTER (WHERE side >= 0)
),
-- Penetrated accounts at each month end, after minus before, for those accounts: the account's merged
-- ranges in the territory whose accounts are measured (a product territory: its nearest non-product
-- ancestor; none: all accounts, always), penetrated from the later of the range start and the first won
-- deal to the range end (month granularity, clamped to the calendar).
kpi_delta_penetrated AS (
    WITH src AS (
        SELECT fw.*, CASE WHEN t.kind <> 'product' THEN t.id ELSE (
                   SELECT c.ancestor_id
                   FROM territories_territoryclosure c JOIN territories_territory a ON a.id = c.ancestor_id
                   WHERE c.descendant_id = t.id AND c.depth > 0 AND a.kind <> 'product'
                   ORDER BY c.depth LIMIT 1
               ) END AS source_id
        FROM kpi_delta_first_won fw JOIN territories_territory t ON t.id = fw.territory_id
    ),
    ranges AS (
        SELECT s.view, s.territory_id, s.before, s.after, lower(span) AS lo, upper(span) AS hi
        FROM src s
        CROSS JOIN LATERAL unnest((
            SELECT range_agg(daterange(ar.lo, ar.hi)) FROM kpi_delta_account_range ar
            WHERE ar.view = s.view AND ar.territory_id = s.source_id AND ar.account_id = s.account_id
        )) span
        WHERE s.source_id IS NOT NULL
        UNION ALL
        SELECT view, territory_id, before, after, '-infinity'::date, 'infinity'::date FROM src WHERE source_id
            IS NULL
    )
    SELECT r.view, r.territory_id, m.month::date AS month, sum(e.sign) AS penetrated
    FROM ranges r
    CROSS JOIN LATERAL (VALUES (r.before, -1), (r.after, 1)) e(at, sign)
    CROSS JOIN LATERAL generate_series(
        greatest(date_trunc('month', greatest(r.lo, e.at)::timestamp), %(cal_first)s::timestamp),
        least(date_trunc('month', r.hi::timestamp) - interval '1 month', %(cal_last)s::timestamp),
        interval '1 month'
    ) m(month)
    WHERE e.at IS NOT NULL AND greatest(r.lo, e.at) < r.hi
    GROUP BY 1, 2, 3
    HAVING sum(e.sign) <> 0
),
-- Additive figures per (view, territory, month): by closing (expected) month, by creation month, and the
-- first-won moves.
kpi_delta_month AS (
    SELECT view, territory_id, month, sum(revenue) AS revenue, sum(won) AS won, sum(lost) AS lost,
           sum(pipeline) AS pipeline, sum(weighted) AS weighted, sum(created) AS created,
           sum(created_won) AS created_won, sum(new_customers) AS new_customers
    FROM (
        SELECT view, territory_id, date_trunc('month', coalesce(closed_on, expected_close_on)::timestamp)::date
            AS month,
               CASE WHEN stage = 'won' AND closed_on IS NOT NULL THEN side * amount ELSE 0 END AS revenue,
               CASE WHEN stage = 'won' AND closed_on IS NOT NULL THEN side ELSE 0 END AS won,
               CASE WHEN stage = 'lost' AND closed_on IS NOT NULL THEN side ELSE 0 END AS lost,
               CASE WHEN closed_on IS NULL THEN side * amount ELSE 0 END AS pipeline,
               CASE WHEN closed_on IS NULL THEN side * amount * probability / 100 ELSE 0 END AS weighted,
               0 AS created, 0 AS created_won, 0 AS new_customers
        FROM kpi_delta_credit WHERE side <> 0 AND coalesce(closed_on, expected_close_on) IS NOT NULL
        UNION ALL
        SELECT view, territory_id, date_trunc('month', created_on::timestamp)::date, 0, 0, 0, 0, 0, side,
               CASE WHEN stage = 'won' THEN side ELSE 0 END, 0
        FROM kpi_delta_credit WHERE side <> 0
        UNION ALL
        SELECT fw.view, fw.territory_id, date_trunc('month', f.at::timestamp)::date, 0, 0, 0, 0, 0, 0, 0, f.sign
        FROM kpi_delta_first_won fw CROSS JOIN LATERAL (VALUES (fw.before, -1), (fw.after, 1)) f(at, sign)
        WHERE f.at IS NOT NULL
    ) x
    GROUP BY 1, 2, 3
),
-- Per period: months, quarters and years sum the months; the next period's growth gets the revenue change
-- as its previous revenue; penetration counts at the period's last month (at most the calendar's last).
kpi_delta_period AS (
    WITH additive AS (
        SELECT view, territory_id, p.period_type, date_trunc(p.period_type, month::timestamp)::date AS period_start,
               sum(revenue) AS revenue, sum(won) AS won, sum(lost) AS lost, sum(pipeline) AS pipeline,
               sum(weighted) AS weighted, sum(created) AS created, sum(created_won) AS created_won,
               sum(new_customers) AS new_customers
        FROM kpi_delta_month CROSS JOIN (VALUES ('month'), ('quarter'), ('year')) p(period_type)
        GROUP BY 1, 2, 3, 4
    ),
    figures AS (
        SELECT view, territory_id, period_type, period_start, revenue, won, lost, pipeline, weighted, created,
               created_won, new_customers, 0 AS previous, 0 AS penetrated
        FROM additive
        UNION ALL
        SELECT view, territory_id, period_type,
               (period_start + CASE period_type WHEN 'month' THEN interval '1 month'
                                                WHEN 'quarter' THEN interval '3 months' ELSE interval '1 year'
                                                    END)::date,
               0, 0, 0, 0, 0, 0, 0, 0, revenue, 0
        FROM additive WHERE revenue <> 0
        UNION ALL
        SELECT pn.view, pn.territory_id, p.period_type, date_trunc(p.period_type, pn.month::timestamp)::date,
               0, 0, 0, 0, 0, 0, 0, 0, 0, pn.penetrated
        FROM kpi_delta_penetrated pn CROSS JOIN (VALUES ('month', 0), ('quarter', 2), ('year', 11))
            p(period_type, extra)
        WHERE pn.month = least((date_trunc(p.period_type, pn.month::timestamp)
                                + make_interval(months => p.extra))::date, %(cal_last)s::date)
    )
    SELECT view, territory_id, period_type, period_start, sum(revenue) AS revenue, sum(won) AS won,
           sum(lost) AS lost, sum(pipeline) AS pipeline, sum(weighted) AS weighted, sum(created) AS created,
           sum(created_won) AS created_won, sum(new_customers) AS new_customers, sum(previous) AS previous,
           sum(penetrated) AS penetrated
    FROM figures
    WHERE period_start <= %(cal_last)s::date
    GROUP BY 1, 2, 3, 4
),
-- The figures rows a delta changes, and by how much (a period whose figures all stay is not written).
kpi_delta_figure AS (
    SELECT * FROM kpi_delta_period x
    WHERE x.revenue <> 0 OR x.won <> 0 OR x.lost <> 0 OR x.pipeline <> 0 OR x.weighted <> 0 OR x.created <> 0
       OR x.created_won <> 0 OR x.new_customers <> 0 OR x.previous <> 0 OR x.penetrated <> 0
),
kpi_delta_update AS (
    UPDATE kpis_kpifigure r
    SET revenue = r.revenue + x.revenue, won = r.won + x.won, lost = r.lost + x.lost,
        pipeline = r.pipeline + x.pipeline, weighted = r.weighted + x.weighted, created = r.created + x.created,
        created_won = r.created_won + x.created_won, new_customers = r.new_customers + x.new_customers,
        penetrated_end = r.penetrated_end + x.penetrated, previous_revenue = r.previous_revenue + x.previous,
        computed_at = %(computed_at)s
    FROM kpi_delta_figure x
    WHERE r.view = x.view AND r.territory_id = x.territory_id AND r.period_type = x.period_type
      AND r.period_start = x.period_start
    RETURNING 1
),
-- Campaign rollups: won revenue and count per (view, territory, campaign, period); keys appear and vanish
-- with their won deals.
kpi_delta_campaign AS (
    SELECT view, territory_id, campaign_id, p.period_type, date_trunc(p.period_type, closed_on::timestamp)::date
               AS period_start,
           sum(side * amount) AS revenue, sum(side) AS deals_won
    FROM kpi_delta_credit CROSS JOIN (VALUES ('month'), ('quarter'), ('year')) p(period_type)
    WHERE side <> 0 AND stage = 'won' AND closed_on IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(side) <> 0 OR sum(side * amount) <> 0
),
kpi_delta_campaign_update AS (
    UPDATE kpis_kpicampaignrollup r
    SET revenue = r.revenue + x.revenue, deals_won = r.deals_won + x.deals_won, computed_at = %(computed_at)s
    FROM kpi_delta_campaign x
    WHERE r.view = x.view AND r.territory_id = x.territory_id AND r.period_type = x.period_type
      AND r.period_start = x.period_start AND coalesce(r.campaign_id, 0) = coalesce(x.campaign_id, 0)
      AND r.deals_won + x.deals_won <> 0
    RETURNING 1
),
kpi_delta_campaign_insert AS (
    INSERT INTO kpis_kpicampaignrollup
        (territory_id, campaign_id, view, period_type, period_start, revenue, deals_won, computed_at)
    SELECT x.territory_id, x.campaign_id, x.view, x.period_type, x.period_start, x.revenue, x.deals_won,
        %(computed_at)s
    FROM kpi_delta_campaign x
    WHERE x.deals_won > 0 AND NOT EXISTS (
        SELECT FROM kpis_kpicampaignrollup r
        WHERE r.view = x.view AND r.territory_id = x.territory_id AND r.period_type = x.period_type
          AND r.period_start = x.period_start AND coalesce(r.campaign_id, 0) = coalesce(x.campaign_id, 0)
    )
    RETURNING 1
),
kpi_delta_campaign_delete AS (
    DELETE FROM kpis_kpicampaignrollup r
    USING kpi_delta_campaign x
    WHERE r.view = x.view AND r.territory_id = x.territory_id AND r.period_type = x.period_type
      AND r.period_start = x.period_start AND coalesce(r.campaign_id, 0) = coalesce(x.campaign_id, 0)
      AND r.deals_won + x.deals_won = 0
    RETURNING 1
),
-- Breakdown rollups: open deals by stage, won deals by product line, per (view, territory, key, period); keys
-- appear and vanish with their deals (the same rules as BREAKDOWN_ROWS).
kpi_delta_breakdown AS (
    SELECT x.view, x.territory_id, x.dimension, x.stage, x.product_line_id, p.period_type,
           date_trunc(p.period_type, x.month::timestamp)::date AS period_start, sum(x.side) AS deals,
           sum(x.side * x.amount) AS amount, sum(x.side * x.amount * x.probability / 100) AS weighted
    FROM (
        SELECT view, territory_id, 'stage'::text AS dimension, stage, NULL::bigint AS product_line_id,
               {OPEN_MONTH} AS month, side, amount, probability
        FROM kpi_delta_credit WHERE side <> 0 AND {OPEN_DEAL}
        UNION ALL
        SELECT view, territory_id, 'product_line', '', product_line_id, {WON_MONTH}, side, amount, NULL
        FROM (
            SELECT c.*, pr.product_line_id
            FROM kpi_delta_credit c LEFT JOIN accounts_product pr ON pr.id = c.product_id
            WHERE c.side <> 0
        ) c
        WHERE {WON_DEAL}
    ) x CROSS JOIN {PERIOD_TYPES}
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    HAVING sum(x.side) <> 0 OR sum(x.side * x.amount) <> 0 OR sum(x.side * x.amount * x.probability / 100) <> 0
),
kpi_delta_breakdown_update AS (
    UPDATE kpis_kpibreakdownrollup r
    SET deals = r.deals + x.deals, amount = r.amount + x.amount, weighted = r.weighted + x.weighted,
        computed_at = %(computed_at)s
    FROM kpi_delta_breakdown x
    WHERE r.view = x.view AND r.territory_id = x.territory_id AND r.period_type = x.period_type
      AND r.period_start = x.period_start AND {BREAKDOWN_KEY.format(r="r", n="x")} AND r.deals + x.deals <> 0
    RETURNING 1
),
kpi_delta_breakdown_insert AS (
    INSERT INTO kpis_kpibreakdownrollup (territory_id, dimension, stage, product_line_id, view, period_type,
        period_start, deals, amount, weighted, computed_at)
    SELECT x.territory_id, x.dimension, x.stage, x.product_line_id, x.view, x.period_type, x.period_start,
           x.deals, x.amount, x.weighted, %(computed_at)s
    FROM kpi_delta_breakdown x
    WHERE x.deals > 0 AND NOT EXISTS (
        SELECT FROM kpis_kpibreakdownrollup r
        WHERE r.view = x.view AND r.territory_id = x.territory_id AND r.period_type = x.period_type
          AND r.period_start = x.period_start AND {BREAKDOWN_KEY.format(r="r", n="x")}
    )
    RETURNING 1
),
kpi_delta_breakdown_delete AS (
    DELETE FROM kpis_kpibreakdownrollup r
    USING kpi_delta_breakdown x
    WHERE r.view = x.view AND r.territory_id = x.territory_id AND r.period_type = x.period_type
      AND r.period_start = x.period_start AND {BREAKDOWN_KEY.format(r="r", n="x")} AND r.deals + x.deals = 0
    RETURNING 1
)
-- Territories of the delta without the rows it updates (created since their last recompute): the caller
-- recomputes them.
SELECT DISTINCT x.territory_id
FROM kpi_delta_figure x
WHERE NOT EXISTS (
    SELECT FROM kpis_kpifigure r
    WHERE r.view = x.view AND r.territory_id = x.territory_id AND r.period_type = x.period_type
      AND r.period_start = x.period_start
)
"""
