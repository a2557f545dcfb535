"""Coverage gaps: accounts in no territory of a kind, for the active model's current rows."""

from datetime import date

import pytest

from core import dashboard_selectors as dash
from territories.models import AccountTerritoryMembership
from territories.selectors import coverage_gaps
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_counts_only_current_rows_in_the_models_territories_of_the_kind(manager_user):
    active = factories.make_territory_model(state="active")
    other = factories.make_territory_model(state="archived")
    west = factories.make_territory(active, code="west")
    west_ca = factories.make_territory(active, parent=west, code="west-ca")
    media = factories.make_territory(active, code="media", kind="vertical")
    other_west = factories.make_territory(other, code="west")
    placed, vertical_only, elsewhere, former, nowhere = (factories.make_account() for _ in range(5))
    since = date(2025, 1, 1)
    AccountTerritoryMembership.objects.create(account=placed, territory=west_ca, valid_from=since)
    AccountTerritoryMembership.objects.create(account=vertical_only, territory=media, valid_from=since)
    # A current row in another model's territory of the same code does not place it in this one.
    AccountTerritoryMembership.objects.create(account=elsewhere, territory=other_west, valid_from=since)
    AccountTerritoryMembership.objects.create(
        account=former, territory=west_ca, valid_from=since, valid_to=date(2026, 1, 1)
    )
    gaps = coverage_gaps(model=active, kind="geographic")
    assert set(gaps) == {vertical_only, elsewhere, former, nowhere}
    assert set(coverage_gaps(model=active, kind="vertical")) == {placed, elsewhere, former, nowhere}
    assert dash.coverage_gaps_count(user=manager_user, model=active) == 4


def test_the_anti_join_reads_the_memberships_alone():
    """The model's territories are probed as a list of ids: joined to them inside NOT EXISTS, a misestimate
    of their number planned a nested loop over every membership for each account (57 s for 20,000)."""
    active = factories.make_territory_model(state="active")
    factories.make_territory(active, code="west")
    sql = str(coverage_gaps(model=active, kind="geographic").query)
    anti_join = sql[sql.index("NOT EXISTS") :]
    assert "territories_accountterritorymembership" in anti_join
    assert "territories_territory" not in anti_join.replace("territories_territoryclosure", "")
