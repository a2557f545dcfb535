"""Upload a CSV/XLSX of accounts, deals or products: preview the validation, then import (managers).

The same validation as the bulk API and `manage.py import_data` (accounts.services): all or nothing,
every bad row listed by line, field and message. Between preview and import the checked rows wait in
the session, so the import writes exactly what was previewed (and is validated again when written).
A column the file's header lacks keeps the stored value of existing records (sync_file_upsert); the
preview names those columns. Problems name the file's line (XLSX: the sheet's row).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from accounts.services import (
    ROW_FIELD,
    SYNC_KINDS,
    SyncFile,
    SyncFileUnreadable,
    UpsertRejected,
    sync_file_columns_missing,
    sync_file_read,
    sync_file_upsert,
    sync_file_validate,
)
from core.roles import is_manager

SESSION_KEY = "sync_upload"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ERRORS_SHOWN = 200
FILE_FORMATS = ("csv", "xlsx")


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(kind, kind.capitalize()) for kind in SYNC_KINDS],
        label="Records",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    file = forms.FileField(
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,.xlsx"}),
        help_text=(
            "CSV (UTF-8; comma, semicolon or tab) or XLSX with a header row of field names, as in the bulk API; "
            "matched by external_id. Columns the file leaves out keep their stored values."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if extension not in FILE_FORMATS:
            raise forms.ValidationError("The file must end in .csv or .xlsx.")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        try:
            self.sheet = sync_file_read(file=upload, file_format=extension)
        except SyncFileUnreadable as error:
            raise forms.ValidationError(str(error)) from error
        except Exception as error:  # any unreadable file (bad encoding, not a workbook) is the user's to fix
            raise forms.ValidationError(f"The file could not be read as {extension.upper()}: {error}") from error
        return upload


def _session_rows(rows: list[dict]) -> list[dict]:
    """Cells as text (XLSX dates become ISO dates), so the rows can wait in the session as JSON."""
    return [{key: value if isinstance(value, str) else value.isoformat() for key, value in row.items()} for row in rows]


def _where(index: int, lines: list[int]) -> str:
    return f"line {lines[index]}" if 0 <= index < len(lines) else "file"  # index -1: the whole file


def _error_rows(errors, lines: list[int]) -> list[dict]:
    return [
        {
            "line": _where(error.index, lines),
            "field": "" if error.field == ROW_FIELD else error.field,  # a row's or the file's, not a field's
            "message": error.message,
        }
        for error in errors
    ]


def _require_manager(request):
    if not is_manager(request.user):
        raise PermissionDenied("Only sales managers and admins import data.")


@login_required
def sync_upload(request):
    _require_manager(request)
    context = {"nav": "upload"}
    if request.method == "POST" and request.POST.get("action") == "import":
        return _import(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["kind"]
        sheet = form.sheet
        sheet.rows = _session_rows(sheet.rows)
        errors = sync_file_validate(kind=kind, sheet=sheet, user=request.user)
        context.update(
            kind=kind,
            filename=form.cleaned_data["file"].name,
            row_count=len(sheet.rows),
            # Said before the import, so nobody expects a file of a few columns to clear the others.
            kept_columns=sync_file_columns_missing(kind=kind, columns=sheet.columns),
        )
        if errors:
            request.session.pop(SESSION_KEY, None)
            context.update(errors=_error_rows(errors[:ERRORS_SHOWN], sheet.lines), error_count=len(errors))
        elif sheet.rows:
            request.session[SESSION_KEY] = {
                "kind": kind,
                "filename": context["filename"],
                "columns": sheet.columns,
                "rows": sheet.rows,
                "lines": sheet.lines,
            }
            context["ready"] = True
    context["form"] = form
    return render(request, "core/sync_upload.html", context)


def _import(request):
    pending = request.session.pop(SESSION_KEY, None)
    if not pending or "lines" not in pending:  # nothing previewed (or previewed before files kept their lines)
        messages.warning(request, "Nothing to import: upload a file and check the preview first.")
        return redirect("sync-upload")
    kind = pending["kind"]
    sheet = SyncFile(columns=pending["columns"], rows=pending["rows"], lines=pending["lines"])
    try:
        result = sync_file_upsert(kind=kind, sheet=sheet, user=request.user)
    except UpsertRejected as rejected:  # the data changed since the preview (e.g. a referenced record was deleted)
        context = {
            "nav": "upload",
            "form": UploadForm(),
            "kind": kind,
            "filename": pending["filename"],
            "row_count": len(pending["rows"]),
            "errors": _error_rows(rejected.errors[:ERRORS_SHOWN], sheet.lines),
            "error_count": len(rejected.errors),
        }
        return render(request, "core/sync_upload.html", context)
    messages.success(
        request,
        f"{pending['filename']}: {result.created} {kind} created, {result.updated} updated, "
        f"{result.unchanged} unchanged.",
    )
    return redirect("sync-upload")
