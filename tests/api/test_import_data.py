"""`manage.py import_data KIND FILE` reads CSV and XLSX through the same validation as the bulk API."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from accounts.models import Account, Deal
from tests import factories


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_data", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_a_csv_and_is_idempotent(db, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,country,employees,postal_code\nF-1,One,US,10,02139\nF-2,Two,DE,,10115\n")
    out, _ = run("accounts", str(path))
    assert "2 created" in out
    assert Account.objects.get(external_id="F-1").postal_code == "02139"
    assert Account.objects.get(external_id="F-2").employees is None
    again, _ = run("accounts", str(path))
    assert "2 unchanged" in again


def test_it_imports_an_xlsx_with_typed_cells(db, tmp_path):
    factories.make_account(external_id="A-1")
    book = Workbook()
    sheet = book.active
    sheet.append(["external_id", "account_external_id", "amount", "created_on", "probability"])
    sheet.append(["X-1", "A-1", 99.5, datetime.datetime(2026, 3, 4), 40])
    sheet.append([None, None, None, None, None])
    path = tmp_path / "deals.xlsx"
    book.save(path)
    out, _ = run("deals", str(path))
    assert "1 created" in out
    deal = Deal.objects.get(external_id="X-1")
    assert (str(deal.amount), str(deal.created_on), deal.probability) == ("99.50", "2026-03-04", 40)


def test_it_lists_every_bad_line_and_imports_nothing(db, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,country\nG-1,Good,US\nG-2,Bad,Nowhere\nG-1,Dup,US\n")
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_data", "accounts", str(path), stdout=StringIO(), stderr=err)
    assert "line 3: country" in err.getvalue()
    assert not Account.objects.filter(external_id__startswith="G-").exists()


def test_it_validates_without_writing_on_dry_run(db, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,country\nH-1,Good,US\n")
    out, _ = run("accounts", str(path), "--dry-run")
    assert "valid" in out
    assert not Account.objects.filter(external_id="H-1").exists()


def test_it_refuses_other_file_types(db, tmp_path):
    path = tmp_path / "accounts.json"
    path.write_text("[]")
    with pytest.raises(CommandError, match="csv or .xlsx"):
        run("accounts", str(path))
