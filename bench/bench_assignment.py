"""Territory assignment engine at scale: full run end to end (history included) and one account's
incremental reassignment, against a floor measured in the same database.

Data (generated with set-based SQL, not seed_demo): N accounts in 10 countries × 20 regions × 10 cities,
5,000 territories of all five kinds, four levels deep — geographic country → region → city → postal range
/ prefix (overlapping siblings), segment employee bands → revenue bands under each country, vertical
industry groups → industries, account-based key-account territories (0.5 % of accounts named), product
line → product territories under each country holding N/5 deals; 1,000 manual overrides.

Floor: one plain SQL statement joining every account to the region territories' rules by country and
region and writing the result into a scratch table. Goals: full run ≤ 10 s and ≤ 10× the floor;
incremental p95 ≤ 20 ms (200 samples). Planning runs are full runs too (same goal): the alignment copied
into a plan, a first run of the plan, a run after one of the plan's rules changed; the diff of the plan
against the alignment (its own task after the run, `plan_diff_refresh`) and the plan's activation (every
account's rows closed and reopened in one transaction) are reported, with the longest wait of a page's
read (one city's current accounts, every 20 ms on another connection) while the activation ran.

Sizes: `--scale full` 1,000,000 and 100,000 accounts, `small` 100,000; BENCH_ASSIGNMENT_ACCOUNTS (comma-separated
account counts, e.g. 10000000) replaces them, for the sizes the default run would make slow:
`BENCH_ASSIGNMENT_ACCOUNTS=10000000 python -m bench.bench_assignment`.

The Django work runs in a subprocess (`python -m bench.bench_assignment worker N`) whose DATABASE_URL
is the benchmark's own database.
"""

import json
import os
import statistics
import sys
import threading
import time
from unittest import mock

from bench.common import bench_database, database_settle, result_row, worker_figures

SIZES = {"full": [1_000_000, 100_000], "small": [100_000]}
FULL_GOAL_SECONDS = 10.0
FLOOR_RATIO_GOAL = 10.0
INCREMENTAL_GOAL_MS = 20.0
SAMPLES = 200

COUNTRIES = ["US", "DE", "FR", "GB", "CA", "AU", "JP", "BR", "IN", "ES"]
INDUSTRIES = [
    "agriculture", "automotive", "construction", "consumer_goods", "education", "energy", "financial_services",
    "government", "healthcare", "hospitality", "logistics", "manufacturing", "media", "pharma",
    "professional_services", "real_estate", "retail", "technology", "telecom", "utilities",
]  # fmt: skip

DATA_SQL = """
INSERT INTO accounts_productline (code, name) SELECT 'line-' || i, 'Line ' || i FROM generate_series(0, 4) i;
INSERT INTO accounts_product (external_id, sku, name, product_line_id, created_at, updated_at)
SELECT 'P' || i, 'sku-' || i, 'Product ' || i, (SELECT id FROM accounts_productline WHERE code = 'line-' || (i / 2)),
       now(), now()
FROM generate_series(0, 9) i;

INSERT INTO accounts_account (external_id, name, industry, employees, annual_revenue, business_type, country, region,
                              city, postal_code, status, created_at, updated_at)
SELECT 'A' || i, 'Account ' || i,
       (%(industries)s::text[])[1 + (i * 13) %% 20],
       (i::bigint * 37) %% 5000, ((i::bigint * 7717) %% 1000000)::numeric,
       CASE WHEN i %% 7 = 0 THEN 'B2C' ELSE 'B2B' END,
       (%(countries)s::text[])[1 + i %% 10],
       (%(countries)s::text[])[1 + i %% 10] || '-' || lpad(((i / 10) %% 20)::text, 2, '0'),
       (%(countries)s::text[])[1 + i %% 10] || '-' || lpad(((i / 10) %% 20)::text, 2, '0') || '-' || ((i / 200) %% 10),
       lpad(((i::bigint * 7919) %% 100000)::text, 5, '0'),
       'customer', now(), now()
FROM generate_series(1, %(accounts)s) i;

INSERT INTO accounts_deal (external_id, name, account_id, product_id, amount, stage, probability, created_on,
                           closed_on, created_at, updated_at)
SELECT 'D' || j, '', (SELECT min(id) FROM accounts_account) + (j * 5) %% %(accounts)s,
       (SELECT min(id) FROM accounts_product) + j %% 10, 1000 + j %% 5000, 'won', 100,
       current_date - 200, current_date - 100, now(), now()
FROM generate_series(1, %(accounts)s / 5) j;
ANALYZE;

-- The alignment, as a spec table: code, parent code, kind, priority and one rule's criteria.
CREATE TABLE bench_spec (code text, parent_code text, kind text, depth int, priority int,
                         field text, operator text, vals text[], min_value numeric, max_value numeric,
                         rs text, re text, field2 text, vals2 text[]);
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, vals)
SELECT 'geo-' || c, NULL, 'geographic', 0, 0, 'country', 'in', ARRAY[c] FROM unnest(%(countries)s::text[]) c;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, vals)
SELECT 'geo-' || c || '-' || lpad(r::text, 2, '0'), 'geo-' || c, 'geographic', 1, 0, 'region', 'in',
       ARRAY[c || '-' || lpad(r::text, 2, '0')]
FROM unnest(%(countries)s::text[]) c, generate_series(0, 19) r;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, vals)
SELECT s.code || '-' || k, s.code, 'geographic', 2, 0, 'city', 'in', ARRAY[s.vals[1] || '-' || k]
FROM bench_spec s, generate_series(0, 9) k WHERE s.depth = 1;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, rs, re)
SELECT s.code || '-low', s.code, 'geographic', 3, 0, 'postal_code', 'range', '00000', '49999'
FROM bench_spec s WHERE s.depth = 2;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, vals)
SELECT s.code || '-p1', s.code, 'geographic', 3, 1, 'postal_code', 'prefix', ARRAY['1']
FROM (SELECT * FROM bench_spec WHERE depth = 2 ORDER BY code LIMIT 469) s;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, min_value, max_value)
SELECT 'seg-' || c || '-' || b, 'geo-' || c, 'segment', 1, 0, 'employees', 'range',
       (ARRAY[0, 50, 1000])[b + 1], (ARRAY[49, 999, NULL])[b + 1]
FROM unnest(%(countries)s::text[]) c, generate_series(0, 2) b;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, min_value, max_value)
SELECT s.code || '-r' || h, s.code, 'segment', 2, 0, 'annual_revenue', 'range',
       (ARRAY[0, 500000])[h + 1], (ARRAY[499999.99, NULL])[h + 1]
FROM bench_spec s, generate_series(0, 1) h WHERE s.kind = 'segment' AND s.depth = 1;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, vals)
SELECT 'vert-' || g, NULL, 'vertical', 0, 0, 'industry', 'in', (%(industries)s::text[])[g * 2 + 1:g * 2 + 2]
FROM generate_series(0, 9) g;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, vals)
SELECT 'vert-' || (i / 2) || '-' || i, 'vert-' || (i / 2), 'vertical', 1, 0, 'industry', 'in',
       ARRAY[(%(industries)s::text[])[i + 1]]
FROM generate_series(0, 19) i;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority) VALUES ('key', NULL, 'account', 0, 0);
INSERT INTO bench_spec (code, parent_code, kind, depth, priority)
SELECT 'key-' || i, 'key', 'account', 1, 0 FROM generate_series(0, 49) i;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, vals)
SELECT 'prod-' || c || '-' || l, 'geo-' || c, 'product', 1, 0, 'product_line', 'in', ARRAY['line-' || l]
FROM unnest(%(countries)s::text[]) c, generate_series(0, 4) l;
INSERT INTO bench_spec (code, parent_code, kind, depth, priority, field, operator, vals)
SELECT s.code || '-' || p, s.code, 'product', 2, 0, 'product', 'in',
       ARRAY['sku-' || (substring(s.code from '[0-9]+$')::int * 2 + p)]
FROM bench_spec s, generate_series(0, 1) p WHERE s.kind = 'product' AND s.depth = 1;
"""

BUILD_SQL = """
INSERT INTO territories_territory (territory_model_id, code, name, kind, parent_id, priority, value_tier, description,
                                   created_at, updated_at)
SELECT %(model)s, s.code, s.code, s.kind, p.id, s.priority, 2, '', now(), now()
FROM bench_spec s LEFT JOIN territories_territory p ON p.code = s.parent_code AND p.territory_model_id = %(model)s
WHERE s.depth = %(depth)s
"""

RULES_SQL = """
INSERT INTO territories_territoryrule (territory_id, name, position)
SELECT t.id, '', 0 FROM territories_territory t JOIN bench_spec s ON s.code = t.code
WHERE t.territory_model_id = %(model)s AND s.field IS NOT NULL;
INSERT INTO territories_rulecriterion (rule_id, field, operator, values, min_value, max_value, range_start, range_end)
SELECT r.id, s.field, s.operator, coalesce(s.vals, '{}'), s.min_value, s.max_value, coalesce(s.rs, ''),
       coalesce(s.re, '')
FROM territories_territoryrule r JOIN territories_territory t ON t.id = r.territory_id
JOIN bench_spec s ON s.code = t.code WHERE t.territory_model_id = %(model)s;
INSERT INTO territories_namedaccount (territory_id, account_id)
SELECT t.id, a.id FROM accounts_account a
JOIN territories_territory t ON t.code = 'key-' || (a.id %% 50) AND t.territory_model_id = %(model)s
WHERE a.id %% 200 = 0;
INSERT INTO territories_territoryoverride (territory_id, account_id, reason, created_at)
SELECT t.id, a.id, 'bench', now() FROM accounts_account a
JOIN territories_territory t ON t.code = 'geo-' || a.country || '-00-0' AND t.territory_model_id = %(model)s
WHERE a.id %% (GREATEST(%(accounts)s / 1000, 1)) = 3;
"""

FLOOR_SQL = """
CREATE TABLE bench_floor AS
SELECT a.id AS account_id, f.territory_id
FROM accounts_account a
JOIN (SELECT t.id AS territory_id, upper(c1.values[1]) AS country, c2.values[1] AS region
      FROM territories_territory t
      JOIN territories_territory p ON p.id = t.parent_id
      JOIN territories_territoryrule r1 ON r1.territory_id = p.id
      JOIN territories_rulecriterion c1 ON c1.rule_id = r1.id AND c1.field = 'country'
      JOIN territories_territoryrule r2 ON r2.territory_id = t.id
      JOIN territories_rulecriterion c2 ON c2.rule_id = r2.id AND c2.field = 'region') f
  ON f.country = a.country AND f.region = a.region
"""


class ReaderBeside(threading.Thread):
    """A page's read while a write runs: one query every 20 ms on a connection of its own (autocommit,
    like a page's), each one timed; the longest is how long a reader waited for the write."""

    def __init__(self, connection_params: dict, sql: str, params: list):
        super().__init__(daemon=True)
        self.connection_params, self.sql, self.params = connection_params, sql, params
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        import psycopg2

        reader = psycopg2.connect(**self.connection_params)
        reader.autocommit = True
        try:
            with reader.cursor() as cursor:
                while not self.done.is_set():
                    begin = time.perf_counter()
                    cursor.execute(self.sql, self.params)
                    cursor.fetchall()
                    self.samples.append(time.perf_counter() - begin)
                    self.done.wait(0.02)
        finally:
            reader.close()

    def __enter__(self) -> "ReaderBeside":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.join()


def worker(accounts: int) -> dict:
    """Runs inside a Django process on the benchmark database; returns the measurements."""
    import django

    django.setup()
    from django.db import connection

    from kpis.models import RollupDirty
    from territories.models import AssignmentRun, Territory, TerritoryModel
    from territories.services import (
        account_reassign,
        assignment_run_execute,
        plan_diff_refresh,
        territory_model_activate,
        territory_model_copy,
    )

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(DATA_SQL, {"accounts": accounts, "countries": COUNTRIES, "industries": INDUSTRIES})
        model = TerritoryModel.objects.create(code="bench", name="Bench", state="active")
        for depth in range(4):
            cursor.execute(BUILD_SQL, {"model": model.pk, "depth": depth})
        cursor.execute(RULES_SQL, {"model": model.pk, "accounts": accounts})
    database_settle(os.environ["DATABASE_URL"])
    territories = Territory.objects.filter(territory_model=model).count()
    generate_seconds = time.perf_counter() - started

    def floor() -> float:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_floor")
            begin = time.perf_counter()
            cursor.execute(FLOOR_SQL)
            return time.perf_counter() - begin

    floor()  # warm the cache the same way for both
    floor_seconds = min(floor(), floor())

    def full_run() -> tuple[float, dict]:
        run = AssignmentRun.objects.create(territory_model=model)
        # A run marks the KPI rollups of the territories it moved (in its transaction, timed) and queues the
        # KPI flush on commit: the KPI worker's job, measured by bench_kpis, which tasks running eagerly
        # in this process would otherwise add to the run's time.
        with mock.patch("kpis.services._enqueue_flush"):
            begin = time.perf_counter()
            run = assignment_run_execute(run=run)
            seconds = time.perf_counter() - begin
        run.counts["kpi_dirty_territories"] = RollupDirty.objects.count()
        RollupDirty.objects.all().delete()
        return seconds, run.counts

    first_seconds, first_counts = full_run()
    rerun_seconds, rerun_counts = full_run()
    # A realistic change: one region's rule now also takes a neighbour region's accounts.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE territories_rulecriterion c SET values = ARRAY['US-00', 'US-01'] FROM territories_territoryrule r "
            "JOIN territories_territory t ON t.id = r.territory_id WHERE c.rule_id = r.id AND t.code = 'geo-US-00'"
        )
    changed_seconds, changed_counts = full_run()

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM accounts_account")
        low, high = cursor.fetchone()
    account_reassign(account_ids=[low])  # compile the rule cache once, as any first call would
    samples = []
    step = max((high - low) // SAMPLES, 1)
    for index in range(SAMPLES):
        account_id = low + index * step
        begin = time.perf_counter()
        account_reassign(account_ids=[account_id])
        samples.append((time.perf_counter() - begin) * 1000)
    p95 = statistics.quantiles(samples, n=20)[-1]

    # Planning: copy the alignment, run the plan (its whole answer written as the plan), change a rule of
    # the plan and run it again (the plan rewritten as a difference), then the diff against the alignment.
    plan = territory_model_copy(source=model, code="bench-plan", name="Bench plan")

    def plan_run() -> tuple[float, dict]:
        run = AssignmentRun.objects.create(territory_model=plan)
        # The diff against the alignment is its own task once the run is done: timed below, on its own.
        with mock.patch("territories.services._plan_diff_enqueue"):
            begin = time.perf_counter()
            run = assignment_run_execute(run=run)
            seconds = time.perf_counter() - begin
        return seconds, run.counts

    plan_first_seconds, plan_first_counts = plan_run()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE territories_rulecriterion c SET values = ARRAY['US-02', 'US-03'] FROM territories_territoryrule r "
            "JOIN territories_territory t ON t.id = r.territory_id WHERE c.rule_id = r.id AND t.code = 'geo-US-02'"
            " AND t.territory_model_id = %s",
            [plan.pk],
        )
    plan_changed_seconds, plan_changed_counts = plan_run()
    begin = time.perf_counter()
    diff = plan_diff_refresh(plan=plan)
    diff_seconds = time.perf_counter() - begin
    # The switch: every account's rows closed and the plan's opened, in one transaction (KPI marking timed,
    # the flush and the other plans' diffs it queues are other tasks).
    # Beside it, a page's read: the accounts currently in one city territory of the alignment.
    city = Territory.objects.filter(territory_model=model, code__startswith="geo-US-00-").order_by("code").first()
    reader = ReaderBeside(
        connection.get_connection_params(),
        "SELECT account_id FROM territories_accountterritorymembership WHERE territory_id = %s AND valid_to IS NULL",
        [city.pk],
    )
    with (
        mock.patch("kpis.services._enqueue_flush"),
        mock.patch("territories.services.plan_diffs_enqueue_pending"),
        reader,
    ):
        begin = time.perf_counter()
        territory_model_activate(model=plan)
        activate_seconds = time.perf_counter() - begin
    return {
        "accounts": accounts,
        "territories": territories,
        "generate_seconds": generate_seconds,
        "floor_seconds": floor_seconds,
        "first_seconds": first_seconds,
        "first_counts": first_counts,
        "rerun_seconds": rerun_seconds,
        "rerun_counts": rerun_counts,
        "changed_seconds": changed_seconds,
        "changed_counts": changed_counts,
        "incremental_p95_ms": p95,
        "incremental_median_ms": statistics.median(samples),
        "plan_first_seconds": plan_first_seconds,
        "plan_first_counts": plan_first_counts,
        "plan_changed_seconds": plan_changed_seconds,
        "plan_changed_counts": plan_changed_counts,
        "diff_seconds": diff_seconds,
        "diff_moves": diff.moved_accounts,
        "activate_seconds": activate_seconds,
        "activate_reads": len(reader.samples),
        "activate_longest_read_seconds": max(reader.samples),
    }


def _measure(url: str, accounts: int) -> dict:
    figures = worker_figures(url, "bench.bench_assignment", str(accounts))
    print(json.dumps(figures, indent=1), file=sys.stderr)
    return figures


def sizes(scale: str) -> list[int]:
    explicit = os.environ.get("BENCH_ASSIGNMENT_ACCOUNTS", "").strip()
    return [int(size) for size in explicit.split(",")] if explicit else SIZES[scale]


def run(scale: str) -> list[dict]:
    rows = []
    for accounts in sizes(scale):
        with bench_database(f"assignment_{accounts}") as url:
            figures = _measure(url, accounts)
        dataset = f"{accounts:,} accounts, {figures['territories']:,} territories"
        floor = figures["floor_seconds"]
        for label, key in (
            ("full run, first (all history written)", "first_seconds"),
            ("full run, unchanged re-run", "rerun_seconds"),
            ("full run after a rule change", "changed_seconds"),
            ("planning run, first (whole plan written)", "plan_first_seconds"),
            ("planning run after a rule change of the plan", "plan_changed_seconds"),
        ):
            seconds = figures[key]
            rows.append(
                result_row(
                    name=f"assignment {label}",
                    dataset=dataset,
                    value=seconds,
                    unit="s",
                    goal=f"<= {FULL_GOAL_SECONDS:g} s and <= {FLOOR_RATIO_GOAL:g}x floor",
                    baseline=floor,
                    ok=seconds <= FULL_GOAL_SECONDS and seconds <= FLOOR_RATIO_GOAL * floor,
                )
            )
        for label, detail, key, baseline in (
            ("planning diff against the alignment", f"{figures['diff_moves']:,} moves", "diff_seconds", floor),
            ("activation of the plan", "", "activate_seconds", floor),
            (
                "activation: longest page read beside it",
                f"{figures['activate_reads']:,} reads",
                "activate_longest_read_seconds",
                None,
            ),
        ):
            rows.append(
                result_row(
                    name=f"assignment {label} (reported)",
                    dataset=f"{dataset}, {detail}" if detail else dataset,
                    value=figures[key],
                    unit="s",
                    goal="reported",
                    baseline=baseline,
                    ok=True,
                )
            )
        rows.append(
            result_row(
                name="assignment incremental, one account (p95)",
                dataset=dataset,
                value=figures["incremental_p95_ms"],
                unit="ms",
                goal=f"<= {INCREMENTAL_GOAL_MS:g} ms",
                ok=figures["incremental_p95_ms"] <= INCREMENTAL_GOAL_MS,
            )
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        print(json.dumps(worker(int(sys.argv[2])), default=str))
    else:
        from bench.run import main

        sys.exit(main(["--only", "assignment", *sys.argv[1:]]))
