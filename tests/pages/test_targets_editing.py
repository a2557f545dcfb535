"""Setting targets on pages: the grid (a KPI's year of targets for a territory and its children, all cells or
none), the one-target form, ratios typed in percent, and the limits every path shares with the API."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from core.models import AuditEntry
from kpis.models import KpiDefinition, KpiTarget
from tests import factories
from tests.access.world import make_manager
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db

YEAR = 2027


@pytest.fixture
def manager(client, world):
    client.force_login(world.manager_user)
    return client


@pytest.fixture
def marked(monkeypatch):
    """Territories whose targets were marked for refreshing (on commit, through core.hooks)."""
    calls = []
    monkeypatch.setattr(
        "kpis.services.rollups_mark_dirty",
        lambda *, territory_ids, targets_only: calls.extend((pk, targets_only) for pk in territory_ids),
    )
    return calls


def grid_url(world, kpi="revenue", period_type="month", parent=None):
    parent = world.west if parent is None else parent
    return f"{reverse('kpis:target-grid')}?kpi={kpi}&period_type={period_type}&year={YEAR}&parent={parent.pk}"


def cell(territory, month: int) -> str:
    return f"t{territory.pk}-{YEAR}{month:02d}"


def grid_post(manager, world, cells: dict, **choice):
    """Post the grid as a browser would: every cell, as shown, with `cells` changed."""
    page = manager.get(grid_url(world, **choice))
    data = {
        name: ("" if field.initial is None else field.initial) for name, field in page.context["form"].fields.items()
    }
    return manager.post(grid_url(world, **choice), {**data, **cells})


def targets(kpi="revenue", period_type="month"):
    return {
        (t.territory_id, t.period_start): t.value
        for t in KpiTarget.objects.filter(kpi__code=kpi, period_type=period_type, period_start__year=YEAR)
    }


def test_the_grid_shows_a_parent_and_its_children_with_targets_and_last_years_actuals(manager, world):
    KpiTarget.objects.create(
        territory=world.west_ca,
        kpi=KpiDefinition.objects.get(code="revenue"),
        period_type="month",
        period_start=date(YEAR, 3, 1),
        value=Decimal("1250.5"),
    )
    factories.make_rollup(world.west_or, "revenue", period_start=date(YEAR - 1, 3, 1), value="987.6")
    response = manager.get(grid_url(world))
    assert response.status_code == 200
    form = response.context["form"]
    assert [t.code for t in response.context["grid"].territories] == ["west", "west-ca", "west-or"]
    assert len(form.fields) == 3 * 12
    assert form.fields[cell(world.west_ca, 3)].initial == "1250.5"
    assert form.fields[cell(world.west_or, 3)].widget.attrs["placeholder"] == "988"  # last March, rounded
    assert form.fields[cell(world.west_or, 4)].widget.attrs["placeholder"] == ""
    assert "California, Mar 2027" in response.content.decode()


def test_the_grid_reads_a_fixed_number_of_queries_whatever_its_rows(manager, world, django_assert_max_num_queries):
    manager.get(grid_url(world))  # warm the session and caches
    with django_assert_max_num_queries(12) as few:
        manager.get(grid_url(world))
    for i in range(15):
        factories.make_territory(world.model, parent=world.west, code=f"more-{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = manager.get(grid_url(world))
    assert len(response.context["grid"].territories) == 18


def test_saving_the_grid_sets_changes_and_clears_only_what_changed(
    manager, world, marked, django_capture_on_commit_callbacks
):
    revenue = KpiDefinition.objects.get(code="revenue")
    for territory, value in ((world.west_ca, "100"), (world.west_or, "200")):
        KpiTarget.objects.create(
            territory=territory, kpi=revenue, period_type="month", period_start=date(YEAR, 1, 1), value=value
        )
    audits_before = AuditEntry.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = grid_post(
            manager, world, {cell(world.west, 2): "5000", cell(world.west_ca, 1): "150", cell(world.west_or, 1): ""}
        )
    assert response.status_code == 302
    assert targets() == {
        (world.west.pk, date(YEAR, 2, 1)): Decimal("5000"),
        (world.west_ca.pk, date(YEAR, 1, 1)): Decimal("150"),
    }
    audits = AuditEntry.objects.order_by("id")[audits_before:]
    assert sorted((a.action, a.territory_code, a.changes["value"][1]) for a in audits) == [
        ("create", "west", "5000.0000"),
        ("delete", "west-or", None),
        ("update", "west-ca", "150.0000"),
    ]
    assert sorted(marked) == sorted((t.pk, True) for t in (world.west, world.west_ca, world.west_or))
    message = [str(m) for m in manager.get(response.url).context["messages"]]
    assert message == ["Revenue targets saved: 2 set, 1 cleared, 33 unchanged."]


def test_a_bad_cell_saves_nothing_and_names_its_territory_and_period(manager, world):
    response = grid_post(manager, world, {cell(world.west, 1): "900", cell(world.west_or, 5): "-3"})
    assert response.status_code == 400
    assert targets() == {}
    page = response.content.decode()
    assert "Nothing was saved: 1 cell needs a change." in page
    assert "Oregon, May 2027: A target cannot be negative." in page
    assert 'value="900"' in page and 'value="-3"' in page  # what was typed stays


def test_ratios_are_typed_in_percent_and_a_share_cannot_exceed_100_percent(manager, world):
    response = grid_post(manager, world, {cell(world.west_ca, 1): "45", cell(world.west_ca, 2): "12.5"}, kpi="win_rate")
    assert response.status_code == 302
    assert targets("win_rate") == {
        (world.west_ca.pk, date(YEAR, 1, 1)): Decimal("0.45"),
        (world.west_ca.pk, date(YEAR, 2, 1)): Decimal("0.125"),
    }
    assert manager.get(grid_url(world, kpi="win_rate")).context["form"].fields[cell(world.west_ca, 1)].initial == "45"
    response = grid_post(manager, world, {cell(world.west_or, 3): "4500"}, kpi="win_rate")
    assert response.status_code == 400
    assert "Win rate is a share and cannot exceed 100 % (enter 45 for 45 %)." in response.content.decode()
    # Growth is a ratio but not a share: above 100 % is a valid target.
    assert grid_post(manager, world, {cell(world.west, 1): "150"}, kpi="revenue_growth").status_code == 302
    assert targets("revenue_growth") == {(world.west.pk, date(YEAR, 1, 1)): Decimal("1.5")}


def test_quarters_have_four_columns(manager, world):
    response = grid_post(manager, world, {f"t{world.west.pk}-{YEAR}04": "7000"}, period_type="quarter")
    assert response.status_code == 302
    assert targets(period_type="quarter") == {(world.west.pk, date(YEAR, 4, 1)): Decimal("7000")}


def test_reps_cannot_edit_targets_and_a_scoped_manager_only_sees_their_territories(client, world):
    client.force_login(world.rep_a.user)
    assert client.get(grid_url(world)).status_code == 403
    assert client.post(grid_url(world), {cell(world.west_ca, 1): "1"}).status_code == 403
    scoped = make_manager(scope_codes=("west-ca",))
    client.force_login(scoped)
    response = client.get(grid_url(world))  # west is outside the scope: refused as a choice
    assert response.status_code == 200 and response.context["grid"] is None
    assert "parent" in response.context["choice"].errors
    response = client.get(f"{reverse('kpis:target-grid')}?kpi=revenue&period_type=month&year={YEAR}")
    assert [t.code for t in response.context["grid"].territories] == ["west-ca"]


def test_the_one_target_form_keeps_the_input_and_names_the_field_when_refused(manager, world):
    win_rate = KpiDefinition.objects.get(code="win_rate")
    post = {"kpi": win_rate.pk, "period_type": "quarter", "period_start": f"{YEAR}-01-01", "value": "4500"}
    response = manager.post(reverse("kpis:target-set", args=[world.west_or.pk]), post)
    assert response.status_code == 400
    assert response.context["form"].errors == {
        "value": ["Win rate is a share and cannot exceed 100 % (enter 45 for 45 %)."]
    }
    assert 'value="4500"' in response.content.decode()
    response = manager.post(
        reverse("kpis:target-set", args=[world.west_or.pk]), {**post, "value": "45", "period_start": f"{YEAR}-02-01"}
    )
    assert response.status_code == 400 and "period_start" in response.context["form"].errors
    assert not KpiTarget.objects.filter(kpi=win_rate).exists()
    response = manager.post(reverse("kpis:target-set", args=[world.west_or.pk]), {**post, "value": "45"})
    assert response.status_code == 302
    assert KpiTarget.objects.get(kpi=win_rate, territory=world.west_or).value == Decimal("0.45")


def test_the_api_refuses_a_share_above_one(world):
    win_rate = KpiDefinition.objects.get(code="win_rate")
    client = client_for(world.manager_user)
    body = {"territory": world.west.pk, "kpi": win_rate.pk, "period_type": "month", "period_start": f"{YEAR}-01-01"}
    response = client.post(url("target-list"), {**body, "value": "45"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"value": ["Win rate is a share and cannot exceed 100 % (0.45 is 45 %)."]}
    assert client.post(url("target-list"), {**body, "value": "0.45"}, format="json").status_code == 201


def test_attainment_is_rounded_once(manager, world):
    # 1,000 of 1,962.8 is 50.9476 %: rounded to four places first it read 51.0 %.
    KpiTarget.objects.filter(territory=world.west_or, kpi__code="revenue").update(value=Decimal("1962.8"))
    response = manager.get(reverse("territories:detail", args=[world.west_or.pk]))
    row = next(r for r in response.context["kpi_rows"] if r["as_of"].kpi.code == "revenue")
    assert f"{row['as_of'].attainment * 100:.1f}" == "50.9"
    assert "50.9 %" in response.content.decode() and "51.0 %" not in response.content.decode()


def test_rollups_and_targets_filter_by_one_period(world):
    """?period_start= picks one period on every KPI list (it was silently ignored on rollups and targets)."""
    quarter = world.period.start
    factories.make_rollup(world.west_ca, "revenue", period_type="quarter", period_start=date(quarter.year - 1, 1, 1))
    client = client_for(world.manager_user)
    for route in ("rollup-list", "target-list"):
        rows = client.get(url(route, period_type="quarter", period_start=str(quarter), page_size=1000)).json()[
            "results"
        ]
        assert rows and {row["period_start"] for row in rows} == {str(quarter)}


def test_an_archived_alignments_targets_stay_as_they_were(manager, world):
    """History: no target is set on an archived alignment's territory, by page or API."""
    archived = factories.make_territory_model(code="fy24", state="archived")
    old_west = factories.make_territory(archived, code="west")
    revenue = KpiDefinition.objects.get(code="revenue")
    post = {"kpi": revenue.pk, "period_type": "quarter", "period_start": f"{YEAR}-01-01", "value": "10"}
    response = manager.post(reverse("kpis:target-set", args=[old_west.pk]), post)
    assert response.status_code == 400 and "archived alignment" in response.content.decode()
    api = client_for(world.manager_user).post(
        url("target-list"), {**post, "territory": old_west.pk, "kpi": revenue.pk}, format="json"
    )
    assert api.status_code == 400 and "territory" in api.json()
    assert not KpiTarget.objects.filter(territory=old_west).exists()


def test_the_grid_hints_only_periods_over_and_shows_what_quarters_sum_from_months(manager, world, monkeypatch):
    monkeypatch.setattr("kpis.selectors.timezone.localdate", lambda: date(YEAR - 1, 12, 8))
    factories.make_rollup(world.west, "revenue", period_start=date(YEAR - 1, 11, 1), value="500")
    factories.make_rollup(world.west, "revenue", period_start=date(YEAR - 1, 12, 1), value="40")  # a week of it
    form = manager.get(grid_url(world)).context["form"]
    assert form.fields[cell(world.west, 11)].widget.attrs["placeholder"] == "500"
    assert form.fields[cell(world.west, 12)].widget.attrs["placeholder"] == ""  # December is not over

    revenue = KpiDefinition.objects.get(code="revenue")
    for month, value in ((1, 100), (2, 200), (4, 50)):
        KpiTarget.objects.create(
            territory=world.west, kpi=revenue, period_type="month", period_start=date(YEAR, month, 1), value=value
        )
    KpiTarget.objects.create(
        territory=world.west, kpi=revenue, period_type="quarter", period_start=date(YEAR, 4, 1), value=900
    )
    fields = manager.get(grid_url(world, period_type="quarter")).context["form"].fields
    q1, q2 = fields[f"t{world.west.pk}-{YEAR}01"], fields[f"t{world.west.pk}-{YEAR}04"]
    assert (q1.widget.attrs["placeholder"], q1.widget.attrs.get("data-derived")) == ("300 from months", "1")
    assert (q2.initial, "data-derived" in q2.widget.attrs) == ("900", False)  # set for itself
