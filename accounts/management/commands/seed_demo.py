from django.core.management.base import BaseCommand, CommandError

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

    def handle(self, *args, accounts, deals, seed, if_empty, **options):
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
