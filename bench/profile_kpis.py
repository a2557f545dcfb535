"""Where a full KPI recompute's time goes, statement by statement, on a kept benchmark database.

    BENCH_KEEP=1 python -m bench.run --scale full --only kpis          # keeps tm_bench_kpis
    DATABASE_URL=postgres://…/tm_bench_kpis python -m bench.profile_kpis [as_of|restated]

Runs one full recompute of the view (it rewrites that view's rollups) with each step's statements executed
one at a time, and prints the slowest statements. Not part of `make bench`: a tool for finding the next cut.
Only this session's statements are timed: with KPI_FULL_RECOMPUTE_BESIDE=0 the campaign and breakdown
rows are built here too, instead of in a second session.
"""

import os
import re
import sys
from unittest import mock

from bench.common import statements_timed

TOP = 25


def main(view: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from kpis import rollup_sql, services

    real_steps = rollup_sql.steps

    def statement_steps(**options) -> list[tuple[str, str]]:
        # The swap stays whole: the recompute runs only the first statement it is given under that name
        # (services._run_steps), and a swap cut after its DETACH would commit a view without its partition.
        return [
            (name, statement)
            for name, sql in real_steps(**options)
            for statement in ([sql] if name == "swap" else re.split(r";\s*\n", sql))
            if statement.strip()
        ]

    print(f"full recompute ({view}): ", end="")
    with mock.patch.object(rollup_sql, "steps", statement_steps), statements_timed(TOP):
        services.rollups_recompute(view=view)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "as_of")
