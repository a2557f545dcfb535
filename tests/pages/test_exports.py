"""Exports escape spreadsheet formulas, keep numbers typed, follow filters and sorting."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from core.exports import cell_escape
from tests import factories
from tests.pages.world import add_bulk

pytestmark = pytest.mark.django_db

DANGEROUS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_it_prefixes_formula_like_text_with_an_apostrophe(text):
    assert cell_escape(text) == "'" + text


@pytest.mark.parametrize("value", ["Acme", "a=b", "", "1-2"])
def test_it_leaves_harmless_text_alone(value):
    assert cell_escape(value) == value


def test_it_keeps_numbers_typed_even_when_negative():
    assert cell_escape(Decimal("-5.50")) == Decimal("-5.50")
    assert cell_escape(-3) == -3
    assert cell_escape(None) == ""


def _csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_escapes_formulas_in_a_csv_export(client, manager_user):
    factories.make_account(name="=cmd|' /C calc'!A0", external_id="EVIL-1")
    client.force_login(manager_user)
    rows = _csv_rows(client.get(reverse("accounts:list"), {"export": "csv"}))
    assert rows[1][:2] == ["EVIL-1", "'=cmd|' /C calc'!A0"]


def test_it_escapes_formulas_in_an_xlsx_export(client, manager_user):
    factories.make_account(name="@SUM(1+1)*cmd", external_id="+EVIL-2", employees=12)
    client.force_login(manager_user)
    response = client.get(reverse("accounts:list"), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, row = list(sheet.iter_rows(values_only=True))
    assert row[0] == "'+EVIL-2"
    assert row[1] == "'@SUM(1+1)*cmd"
    assert row[header.index("Employees")] == 12  # a number stays a number
    assert all(cell.data_type != "f" for cell in next(sheet.iter_rows(min_row=2)))


def test_it_exports_the_filtered_rows_in_the_chosen_order(client, manager_user):
    for name, industry in (("Bravo", "technology"), ("Alpha", "technology"), ("Charlie", "retail")):
        factories.make_account(name=name, industry=industry)
    client.force_login(manager_user)
    rows = _csv_rows(client.get(reverse("accounts:list"), {"export": "csv", "industry": "technology", "sort": "-name"}))
    assert [row[1] for row in rows[1:]] == ["Bravo", "Alpha"]


def test_amounts_read_with_separators_on_the_page_and_stay_numbers_in_exports(client, manager_user):
    deal = factories.make_deal(amount=Decimal("1234567.5"))
    client.force_login(manager_user)
    page = client.get(reverse("accounts:deals")).content.decode()
    assert '<td class="text-end">1,234,567.50</td>' in page
    rows = _csv_rows(client.get(reverse("accounts:deals"), {"export": "csv"}))
    assert rows[1][rows[0].index("Amount")] == "1234567.50"
    sheet = load_workbook(io.BytesIO(client.get(reverse("accounts:deals"), {"export": "xlsx"}).content)).active
    header, row = list(sheet.iter_rows(values_only=True))
    assert row[header.index("Amount")] == 1234567.5
    assert deal.external_id in row


def test_a_yes_no_filter_offers_any_rather_than_unknown(client, manager_user):
    client.force_login(manager_user)
    page = client.get(reverse("accounts:deals")).content.decode()
    assert '<option value="unknown" selected>Any</option>' in page and ">Unknown<" not in page


def test_a_target_reads_in_its_kpis_unit_and_exports_as_a_number(client, manager_user):
    from kpis.models import KpiDefinition, KpiTarget
    from kpis.services import kpi_catalogue_sync

    kpi_catalogue_sync()
    territory = factories.make_territory(factories.make_territory_model(state="active"), code="west")
    for code, value in (("revenue", Decimal("1234567.5")), ("win_rate", Decimal("0.35"))):
        KpiTarget.objects.create(
            territory=territory, kpi=KpiDefinition.objects.get(code=code), period_type="month",
            period_start="2026-01-01", value=value,
        )  # fmt: skip
    client.force_login(manager_user)
    page = client.get(reverse("kpis:targets")).content.decode()
    assert '<td class="text-end">1,234,568</td>' in page and '<td class="text-end">35.0 %</td>' in page
    assert ">KPI code<" in page
    rows = _csv_rows(client.get(reverse("kpis:targets"), {"export": "csv", "sort": "kpi"}))
    values = sorted(row[rows[0].index("Value")] for row in rows[1:])
    assert values == ["0.3500", "1234567.5000"]


def test_the_targets_list_shows_the_live_alignments_unless_a_model_is_chosen(client, manager_user):
    """A plan copies its territories' targets: the same target once per model, told apart by a column."""
    from kpis.models import KpiDefinition, KpiTarget
    from kpis.services import kpi_catalogue_sync
    from territories.services import territory_model_copy

    kpi_catalogue_sync()
    live = factories.make_territory_model(state="active", code="fy26")
    west = factories.make_territory(live, code="west")
    revenue = KpiDefinition.objects.get(code="revenue")
    KpiTarget.objects.create(territory=west, kpi=revenue, period_type="month", period_start="2026-01-01", value=5)
    plan = territory_model_copy(source=live, code="fy27", name="FY27")
    client.force_login(manager_user)
    rows = _csv_rows(client.get(reverse("kpis:targets"), {"export": "csv"}))
    assert [row[rows[0].index("Model")] for row in rows[1:]] == ["fy26"]
    rows = _csv_rows(client.get(reverse("kpis:targets"), {"export": "csv", "territory_model": plan.pk}))
    assert [row[rows[0].index("Model")] for row in rows[1:]] == ["fy27"]


LIST_VIEWS = [
    ("accounts:list", "accounts.views.AccountListView"),
    ("accounts:deals", "accounts.views.DealListView"),
    ("reps:list", "reps.views.RepListView"),
    ("territories:list", "territories.views.TerritoryListView"),
    ("territories:models", "territories.views.TerritoryModelListView"),
    ("kpis:targets", "kpis.views.KpiTargetListView"),
]


@pytest.mark.parametrize(("name", "view_path"), LIST_VIEWS)
def test_every_list_exports_what_django_tables2_would_in_a_fixed_number_of_queries(
    client, world, name, view_path, django_assert_max_num_queries
):
    """The export's fast value path (FastTable.as_values, only the exported fields loaded) against
    django-tables2's own as_values over whole rows — the reference."""
    import django_tables2
    from django.utils.module_loading import import_string

    from core.exports import cell_escape

    view = import_string(view_path)
    client.force_login(world.manager_user)
    first = _csv_rows(client.get(reverse(name), {"export": "csv"}))
    table = view.table_class(view.queryset.visible_to(world.manager_user).order_by("pk"))
    reference = list(django_tables2.Table.as_values(table))
    expected = [["" if v is None else str(cell_escape(v)) for v in row] for row in reference]
    exported = [first[0]] + sorted(first[1:])
    assert exported == [expected[0]] + sorted(expected[1:])
    assert len(exported) > 1
    with django_assert_max_num_queries(8) as few:
        client.get(reverse(name), {"export": "csv"})
    add_bulk(world, 4)  # more territories, accounts, deals, targets, assignments
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse(name), {"export": "csv"})


def test_a_list_longer_than_one_export_is_refused_not_cut(client, manager_user, monkeypatch):
    from core import views_generic

    for n in range(3):
        factories.make_account(name=f"Account {n}")
    client.force_login(manager_user)
    monkeypatch.setattr(views_generic, "EXPORT_ROW_LIMIT", 2)
    response = client.get(reverse("accounts:list"), {"export": "csv", "country": ""})
    assert response.status_code == 302 and "export" not in response.url
    message = str(next(iter(client.get(response.url).context["messages"])))
    assert message.startswith("This list holds more than 2 rows, more than one export takes: narrow it")
    monkeypatch.setattr(views_generic, "EXPORT_ROW_LIMIT", 3)
    assert len(_csv_rows(client.get(reverse("accounts:list"), {"export": "csv"}))) == 1 + 3
