"""API sync and list timings, in-process through the whole DRF stack (JSON parsing, auth, validation, SQL).

- bulk upsert of N deals in one POST /api/v1/deals/bulk/ (first: all inserted; again unchanged; then all
  amounts changed). Baseline: a bare single-statement INSERT of the same rows into a scratch copy (same
  columns, indexes and checks) of the deals table: the ratio is what validation, lookups and upsert add.
- list page of 100 deals (cursor pagination), p95 over sequential requests. Not the gunicorn /
  20-client figure the issue names: that needs the 1M-deal seed and a load generator (not done here).

No territory model is active in this database, so the engine hook after the upsert has nothing to do.
"""

import json
import statistics
import sys
import time

from bench.common import bench_database, result_row, worker_figures

SIZES = {"full": 10_000, "small": 2_000}
BULK_GOAL_SECONDS = 3.0
LIST_GOAL_MS = 100.0
LIST_SAMPLES = 60


def worker(deals: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from psycopg2.extras import execute_values

    from core import roles
    from core.services import api_token_create

    accounts = deals  # as many accounts as deals: the account bulk upsert is measured too
    admin = User.objects.create_user(username="bench-integration")
    admin.groups.add(Group.objects.get(name=roles.INTEGRATION))
    _, key = api_token_create(user=admin, name="bench", scope="read-write")
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Token {key}")
    account_rows = [
        {"external_id": f"BA-{n}", "name": f"Account {n}", "country": "US", "employees": n, "industry": "retail"}
        for n in range(accounts)
    ]
    client.get("/api/v1/accounts/")  # warm up: the first request loads URLconf, apps and the first connection
    begin = time.perf_counter()
    response = client.post("/api/v1/accounts/bulk/", data=json.dumps(account_rows), content_type="application/json")
    accounts_seconds = time.perf_counter() - begin
    if response.status_code != 200:
        raise RuntimeError(f"account bulk upsert failed: {response.status_code} {response.content[:500]!r}")

    def rows(amount_offset: int) -> list[dict]:
        return [
            {
                "external_id": f"BD-{n}",
                "name": f"Deal {n}",
                "account_external_id": f"BA-{n % accounts}",
                "amount": f"{1000 + n + amount_offset}.00",
                "stage": "won" if n % 3 == 0 else "proposal",
                "probability": 100 if n % 3 == 0 else 50,
                "created_on": "2025-01-05",
                "closed_on": "2025-03-01" if n % 3 == 0 else None,
            }
            for n in range(deals)
        ]

    def post(payload: list[dict]) -> tuple[float, dict]:
        body = json.dumps(payload)
        begin = time.perf_counter()
        response = client.post("/api/v1/deals/bulk/", data=body, content_type="application/json")
        seconds = time.perf_counter() - begin
        if response.status_code != 200:
            raise RuntimeError(f"bulk upsert failed: {response.status_code} {response.content[:500]!r}")
        return seconds, response.json()

    first_seconds, first = post(rows(0))
    unchanged_seconds, unchanged = post(rows(0))
    changed_seconds, changed = post(rows(7))

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_deal_copy (LIKE accounts_deal INCLUDING ALL)")
        cursor.execute("SELECT min(id) FROM accounts_account")
        first_account = cursor.fetchone()[0]
    values = [
        (f"BD-{n}", f"Deal {n}", first_account + n % accounts, 1000 + n, "proposal", 50, "2025-01-05")
        for n in range(deals)
    ]
    with connection.cursor() as cursor:
        begin = time.perf_counter()
        execute_values(
            cursor.cursor,
            "INSERT INTO bench_deal_copy (external_id, name, account_id, amount, stage, probability, created_on,"
            " created_at, updated_at) VALUES %s",
            values,
            template="(%s, %s, %s, %s, %s, %s, %s, now(), now())",
            page_size=len(values),
        )
        baseline_seconds = time.perf_counter() - begin

    client.get("/api/v1/deals/?page_size=100")  # warm up
    samples = []
    for _ in range(LIST_SAMPLES):
        begin = time.perf_counter()
        response = client.get("/api/v1/deals/?page_size=100")
        samples.append((time.perf_counter() - begin) * 1000)
        assert response.status_code == 200
    return {
        "deals": deals,
        "accounts_seconds": accounts_seconds,
        "first_seconds": first_seconds,
        "first": first,
        "unchanged_seconds": unchanged_seconds,
        "unchanged": unchanged,
        "changed_seconds": changed_seconds,
        "changed": changed,
        "baseline_seconds": baseline_seconds,
        "list_p95_ms": statistics.quantiles(samples, n=20)[-1],
        "list_median_ms": statistics.median(samples),
    }


def _measure(url: str, deals: int) -> dict:
    figures = worker_figures(url, "bench.bench_api_sync", str(deals), extra_env={"API_THROTTLE_RATE": "1000000/min"})
    print(json.dumps(figures, indent=1), file=sys.stderr)
    return figures


def run(scale: str) -> list[dict]:
    deals = SIZES[scale]
    with bench_database(f"api_sync_{deals}") as url:
        figures = _measure(url, deals)
    baseline = figures["baseline_seconds"]
    rows = [
        result_row(
            name=f"bulk upsert via API, {label}",
            dataset=f"{deals:,} {label.split(',')[0]} in one request",
            value=figures[key],
            unit="s",
            goal=f"<= {BULK_GOAL_SECONDS:g} s",
            baseline=baseline,
            ok=figures[key] <= BULK_GOAL_SECONDS,
        )
        for label, key in (
            ("accounts, all new", "accounts_seconds"),
            ("deals, all new", "first_seconds"),
            ("deals, unchanged re-send", "unchanged_seconds"),
            ("deals, all amounts changed", "changed_seconds"),
        )
    ]
    rows.append(
        result_row(
            name="deal list page of 100, in-process (p95)",
            dataset=f"{deals:,} deals",
            value=figures["list_p95_ms"],
            unit="ms",
            goal=f"<= {LIST_GOAL_MS:g} ms",
            ok=figures["list_p95_ms"] <= LIST_GOAL_MS,
        )
    )
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        print(json.dumps(worker(int(sys.argv[2])), default=str))
    else:
        from bench.run import main

        sys.exit(main(["--only", "api_sync", *sys.argv[1:]]))
