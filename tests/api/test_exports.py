"""GET /api/v1/<deals|accounts>/export/: the list's rows, scoping and filters, as CSV (COPY) or XLSX."""

import csv
import io
from decimal import Decimal

import pytest
from django.utils.dateparse import parse_datetime
from openpyxl import load_workbook

from tests import factories
from tests.api.helpers import client_for, url


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def _listed(client, route, **query) -> list[dict]:
    response = client.get(url(f"{route}-list", page_size=1000, **query))
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _as_csv_text(value) -> str:
    """How the list's JSON value reads in a CSV cell (None is empty, booleans lower case)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same_cell(exported: str, listed) -> bool:
    if isinstance(listed, str) and listed.endswith("Z") and parse_datetime(listed):
        return parse_datetime(exported) == parse_datetime(listed)  # 12:00:00Z and 12:00:00.000000Z are equal
    if isinstance(listed, float):
        return float(exported) == listed
    return exported == _as_csv_text(listed)


def _assert_export_equals_list(exported: list[dict], listed: list[dict]) -> None:
    assert [int(row["id"]) for row in exported] == [row["id"] for row in listed]
    for exported_row, listed_row in zip(exported, listed, strict=True):
        assert set(exported_row) == set(listed_row)
        for name, value in listed_row.items():
            assert _same_cell(exported_row[name], value), (name, exported_row[name], value)


@pytest.mark.parametrize("route", ["deal", "account"])
def test_it_exports_the_same_rows_as_the_list(db, manager_user, route):
    accounts = [
        factories.make_account(employees=None, region="", latitude=Decimal("37.7749"), longitude=Decimal("-122.4194")),
        factories.make_account(annual_revenue=Decimal("1234567.50"), status="customer", country="DE"),
    ]
    factories.make_deal(account=accounts[0], stage="won", amount=Decimal("0.50"))
    factories.make_deal(account=accounts[1], rep=factories.make_rep(), product=factories.make_product())
    client = client_for(manager_user)
    exported = _csv_rows(client.get(url(f"{route}-export", format="csv")))
    _assert_export_equals_list(exported, _listed(client, route))
    assert len(exported) == 2


def test_it_computes_is_open_like_the_list(db, manager_user):
    won = factories.make_deal(stage="won")
    open_deal = factories.make_deal(stage="proposal")
    exported = {
        int(row["id"]): row["is_open"]
        for row in _csv_rows(client_for(manager_user).get(url("deal-export", format="csv")))
    }
    assert exported == {won.id: "false", open_deal.id: "true"}


@pytest.mark.parametrize(
    ("route", "mine", "theirs"), [("deal", "deal_a", "deal_b"), ("account", "account_a", "account_b")]
)
def test_it_exports_only_the_reps_own_rows(world, route, mine, theirs):
    client = client_for(world.rep_a.user)
    exported = {int(row["id"]) for row in _csv_rows(client.get(url(f"{route}-export", format="csv")))}
    assert getattr(world, mine).id in exported
    assert getattr(world, theirs).id not in exported
    assert exported == {row["id"] for row in _listed(client, route)}


def test_it_keeps_a_filter_from_widening_the_reps_export(world):
    client = client_for(world.rep_a.user)
    # East is rep B's: as a filter it is an unknown choice for rep A, never a way into east's deals.
    response = client.get(url("deal-export", format="csv", territory=world.east.id))
    assert response.status_code == 400
    assert "territory" in response.json()
    searched = _csv_rows(client.get(url("deal-export", format="csv", search="Beta expansion")))
    assert searched == []


def test_it_applies_filters_search_and_ordering(world, manager_user):
    client = client_for(manager_user)
    west = _csv_rows(client.get(url("deal-export", format="csv", territory=world.west.id)))
    assert {int(row["id"]) for row in west} == {world.deal_a.id}
    searched = _csv_rows(client.get(url("deal-export", format="csv", search="Beta")))
    assert {int(row["id"]) for row in searched} == {world.deal_b.id, world.deal_b_worked_by_a.id}
    ordered = _csv_rows(client.get(url("deal-export", format="csv", ordering="id")))
    assert [int(row["id"]) for row in ordered] == sorted(int(row["id"]) for row in ordered)
    assert len(ordered) == 3


def test_it_escapes_formulas_in_text_cells(db, manager_user):
    names = ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "\tTab", "\rCR", "Plain = text"]
    for name in names:
        factories.make_account(name=name)
    client = client_for(manager_user)
    exported = {row["name"] for row in _csv_rows(client.get(url("account-export", format="csv")))}
    assert exported == {"'" + name for name in names[:-1]} | {"Plain = text"}
    negative = factories.make_account(name="Neg", latitude=Decimal("10"), longitude=Decimal("-10.5"))
    rows = _csv_rows(client.get(url("account-export", format="csv", search="Neg")))
    assert [(int(row["id"]), Decimal(row["longitude"])) for row in rows] == [(negative.id, Decimal("-10.5"))]


def test_it_exports_xlsx_with_the_same_rows_escaped(world, manager_user):
    factories.make_deal(name="=cmd()", account=world.account_a)
    response = client_for(manager_user).get(url("deal-export", format="xlsx", ordering="id"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    names = [row[header.index("name")] for row in rows]
    assert names == ["Alpha renewal", "Beta expansion", "Beta side deal", "'=cmd()"]
    assert header[-1] == "is_open"


def test_it_exports_xlsx_with_control_characters_replaced(world, manager_user):
    factories.make_deal(name="Bell\x07 deal\x05", account=world.account_a)
    response = client_for(manager_user).get(url("deal-export", format="xlsx", ordering="id"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert rows[-1][header.index("name")] == "Bell\ufffd deal\ufffd"


def test_it_exports_xlsx_only_the_reps_rows(world):
    response = client_for(world.rep_a.user).get(url("deal-export", format="xlsx"))
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert {row[header.index("id")] for row in rows} == {world.deal_a.id, world.deal_b_worked_by_a.id}


@pytest.mark.parametrize("query", [{"format": "pdf"}, {}, {"format": ""}])
def test_it_rejects_a_missing_or_unknown_format_naming_it(db, manager_user, query):
    response = client_for(manager_user).get(url("deal-export", **query))
    assert response.status_code == 400
    assert "format" in response.json()


def test_it_exports_just_the_header_when_nothing_is_visible(db):
    outsider = factories.make_user()
    factories.make_deal()
    response = client_for(outsider).get(url("deal-export", format="csv"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("id,external_id,name")
    assert len(text.splitlines()) == 1


def test_it_needs_authentication(db):
    from rest_framework.test import APIClient

    assert APIClient().get(url("deal-export", format="csv")).status_code in (401, 403)
