"""seed_demo at scale: time to generate and load the demo dataset, against a plain COPY of as many rows.

The baseline is one COPY of the same number of narrow rows (id, account, amount, date) into a scratch
table in the same database, so the ratio says how much the realistic, constrained, indexed load costs.
"""

import io

import numpy as np

from accounts.demo_reference import DEFAULT_ACCOUNTS, DEFAULT_DEALS
from bench.common import bench_database, connect, manage, result_row, timed

SIZES = {"full": (100_000, 1_000_000), "small": (5_000, 50_000)}
GOAL_SECONDS = {"full": 180.0, "small": 60.0}
DEFAULT_GOAL_SECONDS = 90.0  # `make run` seeds the default size on first start


def _narrow_copy_seconds(url: str, rows: int) -> float:
    rng = np.random.default_rng(0)
    ids = np.arange(1, rows + 1)
    account = rng.integers(1, 100_000, size=rows)
    amount = rng.integers(100, 1_000_000, size=rows)
    day = (np.datetime64("2024-01-01") + rng.integers(0, 1000, size=rows)).astype(str)
    text = "\n".join(map("\t".join, zip(ids.astype(str), account.astype(str), amount.astype(str), day, strict=True)))
    buffer = io.StringIO(text + "\n")
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_copy_baseline (id bigint PRIMARY KEY, account_id bigint, amount numeric(14, 2), "
                "created_on date)"
            )
        connection.commit()

        def load():
            with connection.cursor() as cursor:
                cursor.copy_expert("COPY bench_copy_baseline FROM STDIN", buffer)
            connection.commit()

        seconds, _ = timed(load)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_copy_baseline")
        connection.commit()
        return seconds
    finally:
        connection.close()


def run(scale: str) -> list[dict]:
    accounts, deals = SIZES[scale]
    rows = []
    with bench_database("seed") as url:
        baseline = _narrow_copy_seconds(url, deals)
        seconds, _ = timed(manage, url, "seed_demo", "--accounts", str(accounts), "--deals", str(deals))
        rows.append(
            result_row(
                name="seed_demo",
                dataset=f"{accounts:,} accounts, {deals:,} deals",
                value=seconds,
                unit="s",
                goal=f"<= {GOAL_SECONDS[scale]:.0f} s",
                ok=seconds <= GOAL_SECONDS[scale],
                baseline=baseline,
            )
        )
    if scale == "full":
        with bench_database("seed") as url:
            baseline = _narrow_copy_seconds(url, DEFAULT_DEALS)
            seconds, _ = timed(manage, url, "seed_demo", "--if-empty")
            rows.append(
                result_row(
                    name="seed_demo (make run default)",
                    dataset=f"{DEFAULT_ACCOUNTS:,} accounts, {DEFAULT_DEALS:,} deals",
                    value=seconds,
                    unit="s",
                    goal=f"<= {DEFAULT_GOAL_SECONDS:.0f} s",
                    ok=seconds <= DEFAULT_GOAL_SECONDS,
                    baseline=baseline,
                )
            )
    return rows
