"""Upload a CSV/XLSX of accounts, deals or products: preview the validation, then import (managers).

The same validation as the bulk API and `manage.py import_data` (accounts.services): all or nothing,
every bad row listed by line, field and message. Between preview and import the checked rows wait in
the session, so the import writes exactly what was previewed (and is validated again when written).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from accounts.services import SYNC_KINDS, UpsertRejected, sync_file_read, sync_rows_upsert, sync_rows_validate
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
        help_text="CSV (UTF-8) or XLSX with a header row of field names, as in the bulk API; matched by external_id.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if extension not in FILE_FORMATS:
            raise forms.ValidationError("The file must end in .csv or .xlsx.")
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        try:
            self.rows = sync_file_read(file=upload, file_format=extension)
        except Exception as error:  # any unreadable file (bad encoding, not a workbook) is the user's to fix
            raise forms.ValidationError(f"The file could not be read as {extension.upper()}: {error}") from error
        return upload


def _session_rows(rows: list[dict]) -> list[dict]:
    """Cells as text (XLSX dates become ISO dates), so the rows can wait in the session as JSON."""
    return [{key: value if isinstance(value, str) else value.isoformat() for key, value in row.items()} for row in rows]


def _line(index: int) -> str:
    return f"line {index + 2}" if index >= 0 else "file"  # +2: rows count from 0, after the header line


def _error_rows(errors) -> list[dict]:
    return [{"line": _line(error.index), "field": error.field, "message": error.message} for error in errors]


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
        rows = _session_rows(form.rows)
        _, errors = sync_rows_validate(kind=kind, rows=rows, user=request.user)
        context.update(kind=kind, filename=form.cleaned_data["file"].name, row_count=len(rows))
        if errors:
            request.session.pop(SESSION_KEY, None)
            context.update(errors=_error_rows(errors[:ERRORS_SHOWN]), error_count=len(errors))
        elif rows:
            request.session[SESSION_KEY] = {"kind": kind, "filename": context["filename"], "rows": rows}
            context["ready"] = True
    context["form"] = form
    return render(request, "core/sync_upload.html", context)


def _import(request):
    pending = request.session.pop(SESSION_KEY, None)
    if not pending:
        messages.warning(request, "Nothing to import: upload a file and check the preview first.")
        return redirect("sync-upload")
    kind = pending["kind"]
    try:
        result = sync_rows_upsert(kind=kind, rows=pending["rows"], user=request.user)
    except UpsertRejected as rejected:  # the data changed since the preview (e.g. a referenced record was deleted)
        context = {
            "nav": "upload",
            "form": UploadForm(),
            "kind": kind,
            "filename": pending["filename"],
            "row_count": len(pending["rows"]),
            "errors": _error_rows(rejected.errors[:ERRORS_SHOWN]),
            "error_count": len(rejected.errors),
        }
        return render(request, "core/sync_upload.html", context)
    messages.success(
        request,
        f"{pending['filename']}: {result.created} {kind} created, {result.updated} updated, "
        f"{result.unchanged} unchanged.",
    )
    return redirect("sync-upload")
