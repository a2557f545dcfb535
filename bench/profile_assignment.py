"""Where a first full assignment run's time goes, statement by statement, on a kept benchmark database.

    BENCH_KEEP=1 BENCH_ASSIGNMENT_ACCOUNTS=1000000 python -m bench.run --only assignment   # keeps the database
    DATABASE_URL=postgres://…/tm_bench_assignment_1000000 python -m bench.profile_assignment [runs] [first|activation]

Each run, inside a transaction that is rolled back (the database stays as it was), either empties the
history tables and runs the active model in full ("first", the default), or copies the alignment into a
plan, runs it and activates it ("activation"); it times every statement of the first run or the activation
and prints the total and the slowest statements.
Not part of `make bench`: a tool for finding the next cut.
"""

import os
import sys
from unittest import mock

from bench.common import statements_timed

TOP = 25


def main(runs: int, what: str) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import connection, transaction

    from territories.models import AssignmentRun, TerritoryModel
    from territories.services import assignment_run_execute, territory_model_activate, territory_model_copy

    for _ in range(runs):
        with transaction.atomic():
            active = TerritoryModel.objects.get(state="active")
            if what == "activation":
                # The switch to a copy of the alignment, run as a plan first (as bench_assignment does): every
                # account's rows close and reopen under the copy's territories.
                plan = territory_model_copy(source=active, code="profile-plan", name="Profile plan")
                with mock.patch("territories.services._plan_diff_enqueue"):
                    assignment_run_execute(run=AssignmentRun.objects.create(territory_model=plan))
                print("activation: ", end="")
                with mock.patch("kpis.services._enqueue_flush"), statements_timed(TOP):
                    territory_model_activate(model=plan)
            else:
                with connection.cursor() as cursor:
                    # The engine's stored answers empty themselves with the membership table (its trigger).
                    cursor.execute("TRUNCATE territories_accountterritorymembership")
                    cursor.execute("TRUNCATE territories_dealterritorymembership")
                run = AssignmentRun.objects.create(territory_model=active)
                # The KPI flush a run queues on commit is the KPI worker's job (bench_kpis), as in
                # bench_assignment.
                print("first run: ", end="")
                with mock.patch("kpis.services._enqueue_flush"), statements_timed(TOP):
                    assignment_run_execute(run=run)
            transaction.set_rollback(True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1, sys.argv[2] if len(sys.argv) > 2 else "first")
