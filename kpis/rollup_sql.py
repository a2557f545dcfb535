"""The set-based SQL of a rollup recompute, run statement by statement inside one transaction.

Every statement builds a temporary table (dropped at commit) from the previous ones; the last two
swap the rows of the recomputed scope. Parameters: view ('as_of' | 'restated'), model_id (the active
territory model), all_territories (bool), territory_ids (int[]), today (date), computed_at (timestamptz).

Credit rules (see docs/KPIS.md): a deal's date is closed_on when closed, else today. As-of, a deal is
credited to the active territory whose *code* held the deal's account (product territories: the deal)
on that date in any non-planning model; each account's (deal's) earliest membership counts from the
beginning of the data. Restated, the active model's current memberships hold for all time.
"""

STEPS: list[tuple[str, str]] = [
    (
        "calendar",
        # Global, not per scope, so a targeted recompute yields exactly the rows of a full one.
        """
        CREATE TEMP TABLE kpi_calendar ON COMMIT DROP AS
        SELECT generate_series(b.first_month, b.last_month, interval '1 month')::date AS month
        FROM (
            SELECT date_trunc('month', least(
                       (SELECT min(created_on) FROM accounts_deal),
                       (SELECT min(expected_close_on) FROM accounts_deal WHERE closed_on IS NULL)
                   )::timestamp)::date AS first_month,
                   date_trunc('month', greatest(
                       (SELECT max(created_on) FROM accounts_deal),
                       (SELECT max(closed_on) FROM accounts_deal),
                       (SELECT max(expected_close_on) FROM accounts_deal WHERE closed_on IS NULL),
                       %(today)s::date
                   )::timestamp)::date AS last_month
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
        # Which (possibly older models') territories' memberships count for each measured territory.
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
        WHERE CASE WHEN %(view)s = 'restated' THEN a.id = x.territory_id ELSE m.state <> 'planning' END
        """,
    ),
    (
        "account ranges",
        # Merged per (territory, account): overlays and model changes can give overlapping or
        # adjacent ranges, and an account must count once.
        """
        CREATE TEMP TABLE kpi_account_range ON COMMIT DROP AS
        WITH reached AS (
            SELECT r.territory_id, mb.account_id, mb.valid_from, mb.valid_to
            FROM kpi_reach r
            JOIN territories_accountterritorymembership mb ON mb.territory_id = r.descendant_id
            WHERE NOT r.is_product AND (%(view)s = 'as_of' OR mb.valid_to IS NULL)
        ),
        first_membership AS (
            SELECT h.account_id, min(h.valid_from) AS first_from
            FROM territories_accountterritorymembership h
            JOIN territories_territory ht ON ht.id = h.territory_id
            JOIN territories_territorymodel hm ON hm.id = ht.territory_model_id
            WHERE hm.state <> 'planning' AND h.account_id IN (SELECT account_id FROM reached)
            GROUP BY h.account_id
        )
        SELECT territory_id, account_id, lower(span) AS lo, upper(span) AS hi
        FROM (
            SELECT r.territory_id, r.account_id, unnest(range_agg(daterange(
                CASE WHEN %(view)s = 'restated' OR r.valid_from <= f.first_from THEN '-infinity'::date
                     ELSE r.valid_from END,
                CASE WHEN %(view)s = 'restated' THEN 'infinity'::date
                     ELSE coalesce(r.valid_to, 'infinity'::date) END
            ))) AS span
            FROM reached r JOIN first_membership f ON f.account_id = r.account_id
            GROUP BY r.territory_id, r.account_id
        ) merged;
        ANALYZE kpi_account_range
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
        # Ranges are merged, so each (territory, deal) appears at most once.
        """
        CREATE TEMP TABLE kpi_credit ON COMMIT DROP AS
        SELECT s.id AS territory_id, d.id AS deal_id, d.account_id, d.campaign_id, d.amount, d.stage,
               d.probability, d.created_on, d.closed_on, d.expected_close_on
        FROM kpi_scope s
        JOIN kpi_account_range ar ON ar.territory_id = s.id
        JOIN accounts_deal d ON d.account_id = ar.account_id
        WHERE NOT s.is_product
          AND coalesce(d.closed_on, %(today)s::date) >= ar.lo AND coalesce(d.closed_on, %(today)s::date) < ar.hi
        UNION ALL
        SELECT s.id, d.id, d.account_id, d.campaign_id, d.amount, d.stage,
               d.probability, d.created_on, d.closed_on, d.expected_close_on
        FROM kpi_scope s
        JOIN kpi_deal_range dr ON dr.territory_id = s.id
        JOIN accounts_deal d ON d.id = dr.deal_id
        WHERE s.is_product
          AND coalesce(d.closed_on, %(today)s::date) >= dr.lo AND coalesce(d.closed_on, %(today)s::date) < dr.hi;
        ANALYZE kpi_credit
        """,
    ),
    (
        "customers",
        # First won deal of the territory per account, and the accounts each territory measures.
        """
        CREATE TEMP TABLE kpi_first_won ON COMMIT DROP AS
        SELECT territory_id, account_id, min(closed_on) AS first_won
        FROM kpi_credit WHERE stage = 'won'
        GROUP BY territory_id, account_id;

        CREATE TEMP TABLE kpi_scope_account ON COMMIT DROP AS
        SELECT s.id AS territory_id, ar.account_id, ar.lo, ar.hi
        FROM kpi_scope s JOIN kpi_account_range ar ON ar.territory_id = s.account_source_id
        UNION ALL
        SELECT s.id, a.id, '-infinity'::date, 'infinity'::date
        FROM kpi_scope s CROSS JOIN accounts_account a
        WHERE s.account_source_id IS NULL;
        ANALYZE kpi_first_won;
        ANALYZE kpi_scope_account;

        -- Month events: +1 when an account enters (is penetrated in) the territory, -1 when it leaves.
        -- "In T at the end of month m" <=> month(lo) <= m < month(hi); events before the calendar clamp to its start.
        CREATE TEMP TABLE kpi_account_event ON COMMIT DROP AS
        SELECT sa.territory_id,
               greatest(date_trunc('month', e.at::timestamp)::date, (SELECT min(month) FROM kpi_calendar)) AS month,
               sum(e.accounts) AS accounts, sum(e.penetrated) AS penetrated
        FROM kpi_scope_account sa
        LEFT JOIN kpi_first_won fw ON fw.territory_id = sa.territory_id AND fw.account_id = sa.account_id
        CROSS JOIN LATERAL (
            SELECT CASE WHEN fw.first_won IS NOT NULL THEN greatest(sa.lo, fw.first_won) END AS penetrated_from
        ) p
        CROSS JOIN LATERAL (VALUES
            (sa.lo, 1, 0),
            (sa.hi, -1, 0),
            (CASE WHEN p.penetrated_from < sa.hi THEN p.penetrated_from END, 0, 1),
            (CASE WHEN p.penetrated_from < sa.hi THEN sa.hi END, 0, -1)
        ) e(at, accounts, penetrated)
        WHERE e.at IS NOT NULL AND e.at <> 'infinity'::date
        GROUP BY 1, 2;
        ANALYZE kpi_account_event
        """,
    ),
    (
        "months",
        """
        CREATE TEMP TABLE kpi_month ON COMMIT DROP AS
        SELECT s.id AS territory_id, cal.month,
               coalesce(cl.revenue, 0) AS revenue, coalesce(cl.won, 0) AS won, coalesce(cl.lost, 0) AS lost,
               coalesce(op.pipeline, 0) AS pipeline, coalesce(op.weighted, 0) AS weighted,
               coalesce(cr.created, 0) AS created, coalesce(cr.created_won, 0) AS created_won,
               coalesce(nc.new_customers, 0) AS new_customers,
               sum(coalesce(ev.accounts, 0)) OVER w AS accounts_end,
               sum(coalesce(ev.penetrated, 0)) OVER w AS penetrated_end
        FROM kpi_scope s
        CROSS JOIN kpi_calendar cal
        LEFT JOIN (
            SELECT territory_id, date_trunc('month', closed_on::timestamp)::date AS month,
                   sum(amount) FILTER (WHERE stage = 'won') AS revenue,
                   count(*) FILTER (WHERE stage = 'won') AS won,
                   count(*) FILTER (WHERE stage = 'lost') AS lost
            FROM kpi_credit WHERE closed_on IS NOT NULL GROUP BY 1, 2
        ) cl ON cl.territory_id = s.id AND cl.month = cal.month
        LEFT JOIN (
            SELECT territory_id, date_trunc('month', expected_close_on::timestamp)::date AS month,
                   sum(amount) AS pipeline, sum(amount * probability / 100) AS weighted
            FROM kpi_credit WHERE closed_on IS NULL AND expected_close_on IS NOT NULL GROUP BY 1, 2
        ) op ON op.territory_id = s.id AND op.month = cal.month
        LEFT JOIN (
            SELECT territory_id, date_trunc('month', created_on::timestamp)::date AS month,
                   count(*) AS created, count(*) FILTER (WHERE stage = 'won') AS created_won
            FROM kpi_credit GROUP BY 1, 2
        ) cr ON cr.territory_id = s.id AND cr.month = cal.month
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
        # Quarters and years sum their months; account counts are those at the period's last month.
        """
        CREATE TEMP TABLE kpi_period ON COMMIT DROP AS
        SELECT territory_id, 'month'::text AS period_type, month AS period_start, revenue, won, lost, pipeline,
               weighted, created, created_won, new_customers, accounts_end, penetrated_end
        FROM kpi_month
        UNION ALL
        SELECT territory_id, p.period_type, date_trunc(p.period_type, month::timestamp)::date,
               sum(revenue), sum(won), sum(lost), sum(pipeline), sum(weighted), sum(created), sum(created_won),
               sum(new_customers),
               (array_agg(accounts_end ORDER BY month DESC))[1],
               (array_agg(penetrated_end ORDER BY month DESC))[1]
        FROM kpi_month CROSS JOIN (VALUES ('quarter'), ('year')) p(period_type)
        GROUP BY territory_id, p.period_type, date_trunc(p.period_type, month::timestamp)
        """,
    ),
    (
        "targets",
        # A quarter or year target is the one set, else the sum of its month targets.
        """
        CREATE TEMP TABLE kpi_revenue_target ON COMMIT DROP AS
        WITH set_target AS (
            SELECT kt.territory_id, kt.period_type::text AS period_type, kt.period_start, kt.value
            FROM kpis_kpitarget kt
            JOIN kpi_scope s ON s.id = kt.territory_id
            JOIN kpis_kpidefinition k ON k.id = kt.kpi_id AND k.code = 'revenue'
        ),
        derived AS (
            SELECT territory_id, p.period_type,
                   date_trunc(p.period_type, period_start::timestamp)::date AS period_start, sum(value) AS value
            FROM set_target CROSS JOIN (VALUES ('quarter'), ('year')) p(period_type)
            WHERE set_target.period_type = 'month'
            GROUP BY 1, 2, 3
        )
        SELECT territory_id, period_type, period_start, coalesce(st.value, dv.value) AS value
        FROM set_target st FULL JOIN derived dv USING (territory_id, period_type, period_start)
        """,
    ),
    (
        "swap",
        """
        DELETE FROM kpis_kpirollup
        WHERE view = %(view)s AND (%(all_territories)s OR territory_id = ANY(%(territory_ids)s));

        INSERT INTO kpis_kpirollup
            (territory_id, kpi_id, view, period_type, period_start, value, numerator, denominator, computed_at)
        SELECT p.territory_id, k.id, %(view)s, p.period_type, p.period_start,
               round(v.value, 6), v.numerator, v.denominator, %(computed_at)s
        FROM (
            SELECT kp.*, tg.value AS target,
                   lag(kp.revenue) OVER (PARTITION BY kp.territory_id, kp.period_type ORDER BY kp.period_start)
                       AS previous_revenue
            FROM kpi_period kp
            LEFT JOIN kpi_revenue_target tg USING (territory_id, period_type, period_start)
        ) p
        CROSS JOIN LATERAL (VALUES
            ('revenue', p.revenue::numeric, NULL::numeric, NULL::numeric),
            ('deals_won', p.won, NULL, NULL),
            ('average_deal_size', p.revenue / nullif(p.won, 0), p.revenue, p.won),
            ('win_rate', p.won::numeric / nullif(p.won + p.lost, 0), p.won, p.won + p.lost),
            ('revenue_growth', (p.revenue - p.previous_revenue) / nullif(p.previous_revenue, 0),
                p.revenue - p.previous_revenue, p.previous_revenue),
            ('new_customers', p.new_customers, NULL, NULL),
            ('market_penetration', p.penetrated_end::numeric / nullif(p.accounts_end, 0),
                p.penetrated_end, p.accounts_end),
            ('pipeline_value', p.pipeline, NULL, NULL),
            ('weighted_pipeline', p.weighted, NULL, NULL),
            ('lead_conversion', p.created_won::numeric / nullif(p.created, 0), p.created_won, p.created),
            ('quota_attainment', p.revenue / nullif(p.target, 0), p.revenue, p.target)
        ) v(code, value, numerator, denominator)
        JOIN kpis_kpidefinition k ON k.code = v.code;

        DELETE FROM kpis_kpicampaignrollup
        WHERE view = %(view)s AND (%(all_territories)s OR territory_id = ANY(%(territory_ids)s));

        INSERT INTO kpis_kpicampaignrollup
            (territory_id, campaign_id, view, period_type, period_start, revenue, deals_won, computed_at)
        SELECT c.territory_id, c.campaign_id, %(view)s, p.period_type,
               date_trunc(p.period_type, c.closed_on::timestamp)::date, sum(c.amount), count(*), %(computed_at)s
        FROM kpi_credit c CROSS JOIN (VALUES ('month'), ('quarter'), ('year')) p(period_type)
        WHERE c.stage = 'won'
        GROUP BY c.territory_id, c.campaign_id, p.period_type, date_trunc(p.period_type, c.closed_on::timestamp)
        """,
    ),
]

CLEANUP = """
DROP TABLE IF EXISTS kpi_calendar, kpi_scope, kpi_reach, kpi_account_range, kpi_deal_range, kpi_credit,
    kpi_first_won, kpi_scope_account, kpi_account_event, kpi_month, kpi_period, kpi_revenue_target
"""
