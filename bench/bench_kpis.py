"""KPI rollups at scale: a full recompute of each view against one raw GROUP BY territory, month pass over
the deals in the same database and run, and the targeted recompute after one deal change.

Data (set-based SQL): A accounts, D deals over three years (45 % won, 30 % lost, 25 % open), T territories
in an active model — 10 roots → 100 regions → leaves — plus an archived model with the same codes that
held every account until 1 January of last year (a third of them in a different leaf), 10 product
territories holding a tenth of the deals, 20 campaigns, month revenue targets for every territory.

Baseline: SELECT territory, month, sum(amount) over all deals joined to their current deepest membership.
Goals: full recompute of a view ≤ 3× the baseline; one deal change ≤ 50 ms of database work (the delta
flush: median and p95 over 20 changes of seven kinds) and visible within 1 s end to end through a real
Celery worker (when Redis is up: BENCH_REDIS_URL, else REDIS_URL).
The Django side runs in subprocesses (`python -m bench.bench_kpis worker URL SCALE`, `… e2e URL`).
"""

import json
import os
import statistics
import subprocess
import sys
import time

from bench.common import ROOT, bench_database, connect, database_settle, result_row, worker_figures

SIZES = {
    "full": {"deals": 1_000_000, "accounts": 100_000, "territories": 5_000},
    "small": {"deals": 100_000, "accounts": 10_000, "territories": 500},
}
RATIO_GOAL = 3.0
CHANGE_GOAL_MS = 50.0
END_TO_END_GOAL_MS = 1000.0
END_TO_END_SAMPLES = 10
API_PAGE_ROWS = 1000
API_PAGE_SAMPLES = 5

# One deal change of each kind, in its own transaction (%(n)s: the sample's number, spreading the deals).
CHANGE_KINDS = {
    "amount": """UPDATE accounts_deal SET amount = amount + 1
        WHERE id = (SELECT min(id) + %(n)s * 97 FROM accounts_deal)""",
    "won to lost": """UPDATE accounts_deal SET stage = 'lost', probability = 0
        WHERE id = (SELECT min(id) FROM accounts_deal WHERE stage = 'won' AND id > %(n)s * 1013)""",
    "open to won": """UPDATE accounts_deal SET stage = 'won', probability = 100, closed_on = current_date
        WHERE id = (SELECT min(id) FROM accounts_deal WHERE closed_on IS NULL AND id > %(n)s * 1013)""",
    "closed_on moved": """UPDATE accounts_deal SET closed_on = greatest(created_on, closed_on - 40)
        WHERE id = (SELECT min(id) FROM accounts_deal WHERE stage = 'won' AND id > %(n)s * 1013 + 500)""",
    "account move": """UPDATE accounts_deal
        SET account_id = account_id %% 1000 + 1 + (SELECT min(id) FROM accounts_account)
        WHERE id = (SELECT min(id) FROM accounts_deal WHERE stage = 'won' AND id > %(n)s * 1013 + 700)""",
    "insert": """INSERT INTO accounts_deal (external_id, name, account_id, amount, stage, probability, created_on,
            closed_on, created_at, updated_at)
        SELECT 'BENCH-NEW-' || %(n)s, '', (SELECT min(id) + %(n)s * 31 FROM accounts_account), 1234, 'won', 100,
               current_date - 10, current_date - 3, now(), now()""",
    "delete": """DELETE FROM accounts_deal WHERE id = (
        SELECT min(d.id) FROM accounts_deal d WHERE d.id > %(n)s * 1013 + 900
          AND NOT EXISTS (SELECT 1 FROM territories_dealterritorymembership m WHERE m.deal_id = d.id))""",
}
CHANGE_PLAN = ["amount", "won to lost", "open to won", "closed_on moved", "account move", "insert", "delete"] * 3
CHANGE_PLAN = CHANGE_PLAN[:20]

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
    from unittest import mock

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
    out |= api_list_pages()

    # One deal change of each kind, written and committed as a client would (the triggers capture it),
    # then the flush the worker runs: a delta, timed.
    from django.test.utils import CaptureQueriesContext

    samples, statements, kinds, deltas = [], [], [], []
    with mock.patch("kpis.services._enqueue_flush"):
        for n, kind in enumerate(CHANGE_PLAN):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(CHANGE_KINDS[kind], {"n": n + 1})
                services.deal_changed(deal_ids=[n])
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                result = services.rollups_flush_dirty()
                samples.append(time.perf_counter() - started)
            statements.append(len(queries))
            kinds.append(kind)
            deltas.append(bool(result.delta and result.deal_changes and not result.territories))
    out["change"] = samples
    out["change_kinds"] = kinds
    out["change_statements"] = statements
    out["change_delta"] = deltas
    print(json.dumps(out))


def api_list_pages() -> dict:
    """GET /api/v1/rollups/ as a BI tool pages through it (1,000 rows a page, a manager): the first page and
    a page halfway through the list by its cursor, medians of API_PAGE_SAMPLES in process; baseline: the
    query a page-number page at the same depth ran before the cursor (the old ordering, LIMIT … OFFSET)."""
    import base64
    import json
    from urllib.parse import quote, urlencode

    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from kpis.models import KpiFigure, KpiRollup

    user = get_user_model().objects.create_superuser("bench-api", password=None)
    client = APIClient()
    client.force_login(user)
    middle = KpiFigure.objects.order_by("id").values_list("id", flat=True)[KpiFigure.objects.count() // 2]
    # The list's keyset cursor (core/api/pagination.py): the page after (figure_id, position) = (middle, 0),
    # i.e. from the middle figures row's first KPI.
    key = json.dumps([str(middle), "0"], separators=(",", ":"))
    cursor = quote(base64.b64encode(urlencode({"k": key}).encode()).decode())
    depth = KpiRollup.objects.filter(figure_id__lt=middle).count()

    def median_get(path: str) -> float:
        samples = []
        for _ in range(API_PAGE_SAMPLES):
            started = time.perf_counter()
            response = client.get(path, HTTP_HOST="127.0.0.1")
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200 and len(response.json()["results"]) == API_PAGE_ROWS, response
        return statistics.median(samples)

    first = median_get(f"/api/v1/rollups/?page_size={API_PAGE_ROWS}")
    deep = median_get(f"/api/v1/rollups/?page_size={API_PAGE_ROWS}&cursor={cursor}")
    old_order = ("territory_id", "kpi_id", "view", "period_type", "period_start", "id")
    started = time.perf_counter()
    assert len(list(KpiRollup.objects.order_by(*old_order)[depth : depth + API_PAGE_ROWS])) == API_PAGE_ROWS
    offset = time.perf_counter() - started
    return {"api_first_page": first, "api_deep_page": deep, "api_deep_offset": offset, "api_depth": depth}


def end_to_end(url: str) -> None:
    """Runs with DATABASE_URL=url and REDIS_URL set: each change is committed with deal_changed (which
    enqueues the flush on commit, as the API does); times until a real worker's flush made it visible
    (its transaction deletes the pending change with the rollup update). Prints JSON."""
    import django

    django.setup()
    from django.db import connection, transaction

    from kpis import services

    def settle(deadline: float = 30.0) -> float:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            while time.perf_counter() - started < deadline:
                cursor.execute("SELECT EXISTS (SELECT 1 FROM kpis_dealchange)")
                if not cursor.fetchone()[0]:
                    return time.perf_counter() - started
                time.sleep(0.005)
        raise RuntimeError("the worker did not apply the change in time")

    samples = []
    for n in range(END_TO_END_SAMPLES + 1):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(CHANGE_KINDS["amount"], {"n": 200 + n})
            services.deal_changed(deal_ids=[n])
        settle()
        if n:  # the first one warms the worker
            samples.append(time.perf_counter() - started)
    print(json.dumps({"end_to_end": samples}))


def _redis_url() -> str | None:
    import socket
    from urllib.parse import urlparse

    url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL")
    if not url:
        return None
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return url
    except OSError:
        return None


def _end_to_end(url: str) -> list[float] | None:
    redis_url = _redis_url()
    if redis_url is None:
        return None
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings",
           "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING"}  # fmt: skip
    celery = os.path.join(os.path.dirname(sys.executable), "celery")
    worker = subprocess.Popen(
        [celery, "-A", "config", "worker", "--concurrency", "1", "--loglevel", "WARNING", "--pool", "solo"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "bench.bench_kpis", "e2e", url],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    if completed.returncode != 0:
        raise RuntimeError(f"bench_kpis e2e failed:\n{completed.stdout}\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])["end_to_end"]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def sizes(scale: str) -> dict:
    """The scale's dataset; BENCH_KPIS_DEALS=N runs N deals instead (the issue's 10,000,000 report)."""
    explicit = os.environ.get("BENCH_KPIS_DEALS", "").strip()
    return {**SIZES[scale], "deals": int(explicit)} if explicit else SIZES[scale]


def run(scale: str) -> list[dict]:
    size = sizes(scale)
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
        database_settle(url)
        figures = worker_figures(url, "bench.bench_kpis", url, scale, timeout=7200)
        end_to_end = _end_to_end(url)
    print(json.dumps({**figures, "end_to_end": end_to_end, "load": os.getloadavg()}), file=sys.stderr)
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
    for label, key in (("first page", "api_first_page"), (f"page at row {figures['api_depth']:,}", "api_deep_page")):
        rows.append(
            result_row(
                name=f"kpis: API rollup list, {API_PAGE_ROWS:,} rows, {label} (baseline: an OFFSET page there)",
                dataset=dataset,
                value=figures[key] * 1000,
                unit="ms",
                goal="reported",
                baseline=figures["api_deep_offset"] * 1000,
                ok=True,
            )
        )
    change_ms = [seconds * 1000 for seconds in figures["change"]]
    all_delta = all(figures["change_delta"])
    kinds, statements = len(set(figures["change_kinds"])), max(figures["change_statements"])
    detail = f"{len(change_ms)} changes, {kinds} kinds, <= {statements} statements"
    for label, figure in (("median", statistics.median(change_ms)), ("p95", _p95(change_ms))):
        rows.append(
            result_row(
                name=f"kpis: one deal change, delta flush {label} ({detail})",
                dataset=dataset,
                value=figure,
                unit="ms",
                goal=f"<= {CHANGE_GOAL_MS:g} ms",
                ok=figure <= CHANGE_GOAL_MS and all_delta,
            )
        )
    if end_to_end:
        e2e_ms = [seconds * 1000 for seconds in end_to_end]
        for label, figure in (("median", statistics.median(e2e_ms)), ("max", max(e2e_ms))):
            rows.append(
                result_row(
                    name=f"kpis: one deal change, commit to visible via a Celery worker, {label} of {len(e2e_ms)}",
                    dataset=dataset,
                    value=figure,
                    unit="ms",
                    goal=f"<= {END_TO_END_GOAL_MS:g} ms",
                    ok=figure <= END_TO_END_GOAL_MS,
                )
            )
    return rows


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 3 and sys.argv[1] == "e2e":
        end_to_end(sys.argv[2])
    else:
        from bench.run import format_table

        print(format_table(run(sys.argv[1] if len(sys.argv) > 1 else "small")))
