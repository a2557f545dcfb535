from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kpis import rollup_sql, services
from territories.choices import TerritoryModelState
from territories.models import Territory


class Command(BaseCommand):
    help = "Recompute the KPI rollups (all active territories, or one) for one view or both, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("--territory", metavar="CODE", help="Code of a territory in the active model.")
        parser.add_argument("--view", metavar="as-of|restated", help="One view (default: both).")

    def handle(self, *args, territory=None, view=None, **options):
        try:
            views = services.rollup_views_parse(view=view)
        except services.UnknownView as error:
            raise CommandError(str(error))
        territory_id = None
        if territory is not None:
            territory_id = (
                Territory.objects.filter(code=territory, territory_model__state=TerritoryModelState.ACTIVE)
                .values_list("id", flat=True)
                .first()
            )
            if territory_id is None:
                raise CommandError(f"Unknown territory code {territory!r}: no territory of the active model has it.")
        run = services.recompute_run_create(territory_id=territory_id, view=views[0] if len(views) == 1 else "")
        with tqdm(total=len(views) * len(rollup_sql.STEPS), desc="Recomputing KPIs", unit="step") as bar:

            def step(view_name: str, name: str) -> None:
                bar.set_postfix_str(f"{view_name}: {name}")
                bar.update(1)

            try:
                services.recompute_run_execute(run=run, on_step=step)
            except Exception as error:
                raise CommandError(f"Recompute failed (previous rollups kept): {error}")
        counts = run.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Recomputed {counts['territories']} territories, {counts['rollup_rows']} rollups "
                f"({', '.join(counts['views']) or 'nothing to do'}; run {run.pk})."
            )
        )
