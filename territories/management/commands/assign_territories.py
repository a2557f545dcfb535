from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from territories.choices import TerritoryModelState
from territories.models import AssignmentRun, TerritoryModel
from territories.selectors import assignment_preview
from territories.services import assignment_run_execute


class Command(BaseCommand):
    help = "Run a full territory assignment (the active model unless --model); --dry-run shows the diff only."

    def add_arguments(self, parser):
        parser.add_argument("--model", help="Territory model code (default: the active model).")
        parser.add_argument("--dry-run", action="store_true", help="Compute and print the diff without writing.")

    def handle(self, *args, model=None, dry_run=False, **options):
        territory_model = (
            TerritoryModel.objects.filter(code=model).first()
            if model
            else TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()
        )
        if territory_model is None:
            raise CommandError(f"No territory model {model!r}." if model else "There is no active territory model.")
        if dry_run:
            preview = assignment_preview(model=territory_model)
            for key, value in preview["counts"].items():
                self.stdout.write(f"{key}: {value}")
            for move in preview["moves"]:
                self.stdout.write(
                    f"account {move['account_id']} {move['kind']}: "
                    f"{', '.join(move['from_codes']) or '-'} → {', '.join(move['to_codes']) or '-'}"
                )
            return
        run = AssignmentRun.objects.create(territory_model=territory_model)
        with tqdm(total=100, desc=f"assign {territory_model.code}", unit="%", file=self.stderr) as bar:

            def progress(phase, percent, counts):
                bar.set_postfix_str(phase)
                bar.update(max(0, percent - bar.n))

            run = assignment_run_execute(run=run, progress=progress)
            bar.update(100 - bar.n)
        for key, value in run.counts.items():
            self.stdout.write(f"{key}: {value}")
