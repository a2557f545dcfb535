from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.services import (
    ROW_FIELD,
    SYNC_KINDS,
    SyncFileUnreadable,
    UpsertRejected,
    sync_file_columns_missing,
    sync_file_read,
    sync_file_upsert,
    sync_file_validate,
)


class Command(BaseCommand):
    help = (
        "Upsert accounts, deals or products by external_id from a CSV or XLSX file (header row = field names, "
        "as in the bulk API). A column the header lacks keeps the stored value of existing records. "
        "All or nothing: any bad row stops the import and every bad row is listed by line."
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
        try:
            with file.open("rb") as handle:
                sheet = sync_file_read(file=handle, file_format=file_format)
        except SyncFileUnreadable as error:
            raise CommandError(str(error)) from error
        kept = sync_file_columns_missing(kind=kind, columns=sheet.columns)
        if kept:
            self.stdout.write(f"Not in the file, kept as stored: {', '.join(kept)} (new records take the defaults).")
        try:
            if dry_run:
                errors = sync_file_validate(kind=kind, sheet=sheet)
                if errors:
                    raise UpsertRejected(errors)
                self.stdout.write(f"{len(sheet.rows)} {kind} rows are valid; nothing written (dry run).")
                return
            result = sync_file_upsert(kind=kind, sheet=sheet)
        except UpsertRejected as rejected:
            for error in rejected.errors:
                where = f"line {sheet.lines[error.index]}" if 0 <= error.index < len(sheet.lines) else "file"
                field = "" if error.field == ROW_FIELD else f"{error.field}: "  # row-wide errors name no field
                self.stderr.write(f"{where}: {field}{error.message}")
            raise CommandError(f"{len(rejected.errors)} error(s); nothing was imported.") from None
        self.stdout.write(f"{kind}: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.")
