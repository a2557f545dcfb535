from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.services import SYNC_KINDS, UpsertRejected, sync_file_read, sync_rows_upsert, sync_rows_validate


class Command(BaseCommand):
    help = (
        "Upsert accounts, deals or products by external_id from a CSV or XLSX file (header row = field names, "
        "as in the bulk API). All or nothing: any bad row stops the import and every bad row is listed."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(SYNC_KINDS))
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Validate only; write nothing.")

    def handle(self, *args, kind, file, dry_run, **options):
        if not file.exists():
            raise CommandError(f"No such file: {file}")
        file_format = file.suffix.lower().lstrip(".")
        if file_format not in ("csv", "xlsx"):
            raise CommandError("The file must end in .csv or .xlsx.")
        with file.open("rb") as handle:
            rows = sync_file_read(file=handle, file_format=file_format)
        try:
            if dry_run:
                _, errors = sync_rows_validate(kind=kind, rows=rows)
                if errors:
                    raise UpsertRejected(errors)
                self.stdout.write(f"{len(rows)} {kind} rows are valid; nothing written (dry run).")
                return
            result = sync_rows_upsert(kind=kind, rows=rows)
        except UpsertRejected as rejected:
            for error in rejected.errors:
                line = f"line {error.index + 2}" if error.index >= 0 else "file"  # +2: 0-based, after the header
                self.stderr.write(f"{line}: {error.field}: {error.message}")
            raise CommandError(f"{len(rejected.errors)} error(s); nothing was imported.")
        self.stdout.write(f"{kind}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.")
