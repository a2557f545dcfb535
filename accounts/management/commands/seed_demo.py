from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts import demo_data


class Command(BaseCommand):
    help = "Fill an empty database with a realistic, deterministic demo dataset (same seed, same rows)."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=demo_data.DEFAULT_ACCOUNTS, help="number of accounts")
        parser.add_argument("--deals", type=int, default=demo_data.DEFAULT_DEALS, help="number of deals")
        parser.add_argument("--seed", type=int, default=demo_data.DEFAULT_SEED, help="random seed")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing (and say so) when the database already has accounts"
        )
        parser.add_argument(
            "--compute",
            action="store_true",
            help="then run the assignment, derive revenue targets from last year (+10 %%) and recompute the KPIs",
        )

    def handle(self, *args, accounts, deals, seed, if_empty, compute, **options):
        if if_empty and demo_data.demo_data_present():
            self.stdout.write("Demo data not seeded: the database already has accounts.")
            return
        self.stdout.write(f"Seeding demo data: {accounts:,} accounts, {deals:,} deals, seed {seed} …")
        try:
            summary = demo_data.demo_data_seed(accounts=accounts, deals=deals, seed=seed)
        except demo_data.DemoDataError as error:
            raise CommandError(str(error)) from error
        counts = ", ".join(f"{value:,} {name}" for name, value in summary.counts.items())
        timings = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in summary.seconds.items())
        self.stdout.write(self.style.SUCCESS(f"Seeded {counts}."))
        self.stdout.write(f"Time: {timings}.")
        self.stdout.write("Demo logins (demo only):")
        for login in demo_data.DEMO_LOGINS:
            self.stdout.write(f"  {login.username:<13} {login.password:<17} {login.role}")
        if compute:
            self.compute_figures()
        # Planner statistics for the tables just filled: without them (autovacuum gets there minutes later,
        # or never where it is off) a scoped deals list planned for 21 accounts in scope read 8,644 (150 ms
        # instead of 12).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def compute_figures(self):
        from kpis.services import revenue_targets_from_history, rollups_flush_dirty

        call_command("assign_territories", stdout=self.stdout, stderr=self.stderr)
        # The run marked every territory's rollups for recomputing and queued the flush: in-process tasks ran
        # it on commit, a worker has it queued. Flush here (it finds nothing if it ran), so last year's revenue
        # is rolled up for the targets below and no territory is left waiting.
        flushed = rollups_flush_dirty()
        if flushed.territories:
            self.stdout.write(f"Rolled up {flushed.territories:,} territories after the assignment.")
        written = revenue_targets_from_history(growth_percent=10)
        self.stdout.write(f"Set {written:,} monthly revenue targets (last year + 10 %).")
        # The targets marked their territories targets-only: the flush sets the figures' targets in place,
        # no second recompute (in-process tasks flushed on commit already; then this finds nothing).
        rollups_flush_dirty()
