"""A file import (upload page, `import_data`) changes only the columns its header has: a column the file
lacks keeps the stored value of an existing record; the API keeps full-row semantics."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Account, Deal
from accounts.services import (
    SyncFile,
    UpsertRejected,
    sync_file_columns_missing,
    sync_file_read,
    sync_file_upsert,
    sync_file_validate,
    sync_rows_upsert,
)
from tests import factories

pytestmark = pytest.mark.django_db

FULL = {
    "industry": "technology",
    "employees": 250,
    "annual_revenue": Decimal("1000000.00"),
    "region": "CA",
    "city": "San Francisco",
    "postal_code": "94105",
    "latitude": Decimal("37.789000"),
    "longitude": Decimal("-122.394000"),
    "status": "customer",
    "customer_since": datetime.date(2020, 5, 1),
}


def _sheet(text: str) -> SyncFile:
    return sync_file_read(file=StringIO(text), file_format="csv")


def _stored(account: Account) -> dict:
    return {name: getattr(account, name) for name in FULL}


def test_it_keeps_the_columns_a_file_lacks_on_an_existing_account():
    account = factories.make_account(external_id="KEEP-1", **FULL)
    before = _stored(account)

    result = sync_file_upsert(kind="accounts", sheet=_sheet("external_id,name,country\nKEEP-1,Renamed,US\n"))

    assert result.as_dict() == {"created": 0, "updated": 1, "unchanged": 0}
    account.refresh_from_db()
    assert account.name == "Renamed"
    assert _stored(account) == before


def test_an_unchanged_partial_file_leaves_the_record_alone():
    account = factories.make_account(external_id="KEEP-2", name="Same", **FULL)
    result = sync_file_upsert(kind="accounts", sheet=_sheet("external_id,name\nKEEP-2,Same\n"))
    assert result.as_dict() == {"created": 0, "updated": 0, "unchanged": 1}
    account.refresh_from_db()
    assert _stored(account) == {name: getattr(account, name) for name in FULL}


def test_a_column_in_the_header_is_written_blank_cells_included():
    account = factories.make_account(external_id="KEEP-3", **FULL)
    sync_file_upsert(kind="accounts", sheet=_sheet("external_id,name,country,city,employees\nKEEP-3,X,US,,\n"))
    account.refresh_from_db()
    assert (account.city, account.employees) == ("", None)  # present and blank: reset, as before
    assert (account.postal_code, account.industry) == ("94105", "technology")  # absent: kept


def test_a_new_record_takes_the_defaults():
    sync_file_upsert(kind="accounts", sheet=_sheet("external_id,name,country\nNEW-1,New,DE\n"))
    account = Account.objects.get(external_id="NEW-1")
    assert (account.industry, account.employees, account.city, account.status) == ("", None, "", "prospect")


def test_it_keeps_a_deals_references_by_their_natural_keys():
    rep = factories.make_rep()
    product = factories.make_product()
    deal = factories.make_deal(external_id="DKEEP-1", product=product, rep=rep, stage="proposal", probability=55)

    sync_file_upsert(kind="deals", sheet=_sheet("external_id,amount\nDKEEP-1,42.00\n"))

    deal.refresh_from_db()
    assert deal.amount == Decimal("42.00")
    assert (deal.account_id, deal.product_id, deal.rep_id, deal.stage, deal.probability) == (
        deal.account_id,
        product.id,
        rep.id,
        "proposal",
        55,
    )
    assert deal.created_on == datetime.date(2025, 1, 10)


def test_a_partial_file_still_validates_the_whole_record():
    factories.make_account(external_id="ACC-D")
    # A new deal needs its account and created_on: the file lacks them and there is no record to keep.
    errors = sync_file_validate(kind="deals", sheet=_sheet("external_id,amount\nDNEW-1,5.00\n"))
    assert {error.field for error in errors} == {"account_external_id", "created_on"}
    with pytest.raises(UpsertRejected):
        sync_file_upsert(kind="deals", sheet=_sheet("external_id,amount\nDNEW-1,5.00\n"))
    assert not Deal.objects.filter(external_id="DNEW-1").exists()


def test_it_names_the_columns_a_file_lacks():
    missing = sync_file_columns_missing(kind="accounts", columns=["external_id", "name", "country"])
    assert missing[:3] == ["industry", "employees", "annual_revenue"]
    assert "name" not in missing and "external_id" not in missing


def test_the_api_keeps_full_row_semantics():
    account = factories.make_account(external_id="API-1", **FULL)
    sync_rows_upsert(kind="accounts", rows=[{"external_id": "API-1", "name": "Full row", "country": "US"}])
    account.refresh_from_db()
    assert (account.industry, account.employees, account.city) == ("", None, "")  # documented: reset


def test_import_data_keeps_the_columns_a_file_lacks(tmp_path):
    account = factories.make_account(external_id="CMD-1", **FULL)
    before = _stored(account)
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name,country\nCMD-1,From command,US\n")
    out = StringIO()
    call_command("import_data", "accounts", str(path), stdout=out, stderr=StringIO())
    assert "Not in the file, kept as stored: industry, employees" in out.getvalue()
    assert "1 updated" in out.getvalue()
    account.refresh_from_db()
    assert account.name == "From command"
    assert _stored(account) == before
