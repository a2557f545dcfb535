"""KPI rollups at scale: a full recompute of each view against one raw GROUP BY territory, month pass over
the deals in the same database and run, and the targeted recompute after one deal change.

Data (set-based SQL): A accounts, D deals over three years (45 % won, 30 % lost, 25 % open), T territories
in an active model — 10 roots → 100 regions → leaves — plus an archived model with the same codes that
held every account until 1 January of last year (a third of them in a different leaf), 10 product
territories holding a tenth of the deals, 20 campaigns, month revenue targets for every territory.

Baseline: SELECT territory, month, sum(amount) over all deals joined to their current deepest membership.
Goals: full recompute of a view ≤ 3× the baseline; one deal change ≤ 50 ms of database work.
The Django side runs in a subprocess (`python -m bench.bench_kpis worker URL SCALE`).
"""

import json
import os
import statistics
import subprocess
import sys
import time

from bench.common import ROOT, bench_database, connect, result_row

SIZES = {
    "full": {"deals": 1_000_000, "accounts": 100_000, "territories": 5_000},
    "small": {"deals": 100_000, "accounts": 10_000, "territories": 500},
}
RATIO_GOAL = 3.0
CHANGE_GOAL_MS = 50.0
CHANGE_SAMPLES = 5

DATA_SQL = """
INSERT INTO territories_territorymodel (code, name, state, description, created_at, effective_from, activated_at)
VALUES ('old', 'Old', 'archived', '', now(), NULL, now() - interval '3 years'),
       ('current', 'Current', 'active', '', now(), NULL, now());

-- Both models: 10 roots, 100 regions, then leaves spread over the regions (same codes in both).
CREATE TABLE bench_spec AS
SELECT 'root-' || r AS code, NULL::text AS parent_code, 0 AS depth FROM generate_series(0, 9) r
UNION ALL SELECT 'region-' || g, 'root-' || (g %% 10), 1 FROM generate_series(0, 99) g
UNION ALL SELECT 'leaf-' || l, 'region-' || (l %% 100), 2 FROM generate_series(0, %(leaves)s - 1) l;

INSERT INTO territories_territory (territory_model_id, code, name, kind, priority, value_tier, description,
                                   created_at, updated_at, parent_id)
SELECT m.id, s.code, s.code, 'geographic', 0, 2, '', now(), now(), NULL
FROM bench_spec s, territories_territorymodel m WHERE s.depth = 0;
INSERT INTO territories_territory (territory_model_id, code, name, kind, priority, value_tier, description,
                                   created_at, updated_at, parent_id)
SELECT m.id, s.code, s.code, 'geographic', 0, 2, '', now(), now(), p.id
FROM bench_spec s JOIN territories_territorymodel m ON true
JOIN territories_territory p ON p.code = s.parent_code AND p.territory_model_id = m.id WHERE s.depth = 1;
INSERT INTO territories_territory (territory_model_id, code, name, kind, priority, value_tier, description,
                                   created_at, updated_at, parent_id)
SELECT m.id, s.code, s.code, 'geographic', 0, 2, '', now(), now(), p.id
FROM bench_spec s JOIN territories_territorymodel m ON true
JOIN territories_territory p ON p.code = s.parent_code AND p.territory_model_id = m.id WHERE s.depth = 2;
INSERT INTO territories_territory (territory_model_id, code, name, kind, priority, value_tier, description,
                                   created_at, updated_at, parent_id)
SELECT m.id, 'product-' || i, 'Product ' || i, 'product', 0, 2, '', now(), now(), p.id
FROM generate_series(0, 9) i JOIN territories_territorymodel m ON m.state = 'active'
JOIN territories_territory p ON p.code = 'root-' || i AND p.territory_model_id = m.id;

INSERT INTO accounts_campaign (name, channel, created_at, updated_at)
SELECT 'Campaign ' || i, 'email', now(), now() FROM generate_series(1, 20) i;

INSERT INTO accounts_account (external_id, name, industry, business_type, country, region, city, postal_code,
                              status, created_at, updated_at)
SELECT 'A' || i, 'Account ' || i, 'technology', 'B2B', 'US', '', '', '', 'customer', now(), now()
FROM generate_series(1, %(accounts)s) i;

CREATE TABLE bench_leaf AS
SELECT t.id, t.territory_model_id, (regexp_replace(t.code, 'leaf-', ''))::int AS n
FROM territories_territory t WHERE t.code LIKE 'leaf-%%';
CREATE INDEX ON bench_leaf (territory_model_id, n);

-- Every account: the old model's leaf until 1 January last year, then the current model's leaf
-- (a third of the accounts in a different leaf than before).
INSERT INTO territories_accountterritorymembership (account_id, territory_id, valid_from, valid_to, source)
SELECT a.id, l.id, date_trunc('year', current_date)::date - interval '4 years',
       date_trunc('year', current_date)::date - interval '1 year', 'rule'
FROM accounts_account a
JOIN bench_leaf l ON l.territory_model_id = (SELECT id FROM territories_territorymodel WHERE state = 'archived')
 AND l.n = (CASE WHEN a.id %% 3 = 0 THEN a.id + 7 ELSE a.id END) %% %(leaves)s;
INSERT INTO territories_accountterritorymembership (account_id, territory_id, valid_from, valid_to, source)
SELECT a.id, l.id, date_trunc('year', current_date)::date - interval '1 year', NULL, 'rule'
FROM accounts_account a
JOIN bench_leaf l ON l.territory_model_id = (SELECT id FROM territories_territorymodel WHERE state = 'active')
 AND l.n = a.id %% %(leaves)s;

INSERT INTO accounts_deal (external_id, name, account_id, campaign_id, amount, stage, probability, created_on,
                           expected_close_on, closed_on, created_at, updated_at)
SELECT 'D' || j, '', a0 + (hashint %% %(accounts)s), CASE WHEN j %% 2 = 0 THEN c0 + j %% 20 END,
       100 + (hashint %% 49900), stage,
       CASE stage WHEN 'won' THEN 100 WHEN 'lost' THEN 0 ELSE 10 + hashint %% 80 END,
       created_on,
       CASE WHEN stage = 'proposal' THEN current_date + (hashint %% 120) END,
       CASE WHEN stage <> 'proposal' THEN least(current_date, created_on + (hashint %% 90)) END,
       now(), now()
FROM (
    SELECT j, abs(hashtext(j::text)) AS hashint,
           CASE WHEN j %% 20 < 9 THEN 'won' WHEN j %% 20 < 15 THEN 'lost' ELSE 'proposal' END AS stage,
           current_date - (abs(hashtext('c' || j)) %% 1095) AS created_on
    FROM generate_series(1, %(deals)s) j
) g, (SELECT min(id) AS a0 FROM accounts_account) a, (SELECT min(id) AS c0 FROM accounts_campaign) c;

INSERT INTO territories_dealterritorymembership (deal_id, territory_id, valid_from, valid_to)
SELECT d.id, p.id, d.created_on, NULL
FROM accounts_deal d JOIN territories_territory p ON p.code = 'product-' || (d.id %% 10)
 AND p.territory_model_id = (SELECT id FROM territories_territorymodel WHERE state = 'active')
WHERE d.id %% 10 = 3;

INSERT INTO kpis_kpitarget (territory_id, kpi_id, period_type, period_start, value, updated_at)
SELECT t.id, k.id, 'month', m::date, 100000, now()
FROM territories_territory t
JOIN kpis_kpidefinition k ON k.code = 'revenue'
CROSS JOIN generate_series(date_trunc('month', current_date) - interval '35 months',
                           date_trunc('month', current_date), interval '1 month') m
WHERE t.territory_model_id = (SELECT id FROM territories_territorymodel WHERE state = 'active');
DROP TABLE bench_spec, bench_leaf;
ANALYZE;
"""

BASELINE_SQL = """
SELECT count(*) FROM (
    SELECT m.territory_id, date_trunc('month', coalesce(d.closed_on, d.expected_close_on)) AS month, sum(d.amount)
    FROM accounts_deal d
    JOIN territories_accountterritorymembership m ON m.account_id = d.account_id AND m.valid_to IS NULL
    GROUP BY 1, 2
) raw
"""


def worker(url: str, scale: str) -> None:
    """Runs with DATABASE_URL=url: times the Django services and prints JSON."""
    import django

    django.setup()
    from django.db import connection, transaction

    from kpis import services
    from kpis.models import KpiRollup

    def baseline() -> float:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(BASELINE_SQL)
            cursor.fetchone()
            return time.perf_counter() - started

    out = {"baseline": [], "as_of": [], "restated": []}
    baseline()  # warm the cache
    for _ in range(2 if scale == "small" else 1):
        out["baseline"].append(baseline())
        for view in ("as_of", "restated"):
            started = time.perf_counter()
            result = services.rollups_recompute(view=view)
            out[view].append(time.perf_counter() - started)
            out[f"{view}_rows"] = result.rollup_rows
    out["rollup_rows"] = KpiRollup.objects.count()

    # One deal change: mark dirty in the writer's transaction, then the flush (what the worker runs).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.id FROM accounts_deal d WHERE d.stage = 'won' ORDER BY d.id LIMIT %s", [CHANGE_SAMPLES]
        )
        deal_ids = [row[0] for row in cursor.fetchall()]
    samples, territories = [], []
    from unittest import mock

    with mock.patch("kpis.services._enqueue_flush"):
        for deal_id in deal_ids:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE accounts_deal SET amount = amount + 1 WHERE id = %s", [deal_id])
                services.deal_changed(deal_ids=[deal_id])
            started = time.perf_counter()
            result = services.rollups_flush_dirty()
            samples.append(time.perf_counter() - started)
            territories.append(result.territories)
    out["change"] = samples
    out["change_territories"] = territories
    print(json.dumps(out))


def run(scale: str) -> list[dict]:
    size = SIZES[scale]
    dataset = f"{size['deals']:,} deals, {size['accounts']:,} accounts, {size['territories']:,} territories"
    with bench_database("kpis") as url:
        connection = connect(url)
        try:
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    DATA_SQL,
                    {"deals": size["deals"], "accounts": size["accounts"], "leaves": size["territories"] - 120},
                )
        finally:
            connection.close()
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
        env.pop("REDIS_URL", None)
        completed = subprocess.run(
            [sys.executable, "-m", "bench.bench_kpis", "worker", url, scale],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=7200,
        )  # fmt: skip
        if completed.returncode != 0:
            raise RuntimeError(f"bench_kpis worker failed:\n{completed.stdout}\n{completed.stderr}")
        figures = json.loads(completed.stdout.strip().splitlines()[-1])
    baseline = min(figures["baseline"])
    rows = []
    for view in ("as_of", "restated"):
        seconds = min(figures[view])
        rows.append(
            result_row(
                name=f"kpis: full recompute ({view}, {figures[f'{view}_rows']:,} rollups)",
                dataset=dataset,
                value=seconds,
                unit="s",
                goal=f"<= {RATIO_GOAL:g}x raw GROUP BY",
                baseline=baseline,
                ok=seconds <= RATIO_GOAL * baseline,
            )
        )
    change_ms = statistics.median(figures["change"]) * 1000
    rows.append(
        result_row(
            name=f"kpis: one deal change, targeted recompute ({max(figures['change_territories'])} territories)",
            dataset=dataset,
            value=change_ms,
            unit="ms",
            goal=f"<= {CHANGE_GOAL_MS:g} ms",
            ok=change_ms <= CHANGE_GOAL_MS,
        )
    )
    return rows


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        from bench.run import format_table

        print(format_table(run(sys.argv[1] if len(sys.argv) > 1 else "small")))
