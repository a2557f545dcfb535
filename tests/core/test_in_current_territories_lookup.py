"""`account__in_current_territories=[…]` (core.lookups): an account, or a deal by its account, matches when
the account has an open membership in one of the listed territories — checked against the memberships
read in Python, on random memberships."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Account, Deal
from territories.models import AccountTerritoryMembership
from tests import factories


@pytest.fixture
def shop(db):
    model = factories.make_territory_model()
    root = factories.make_territory(model, code="root")
    territories = [root] + [factories.make_territory(model, parent=root, code=f"t-{n}") for n in range(3)]
    accounts = [factories.make_account() for _ in range(4)]
    deals = [factories.make_deal(account=account) for account in accounts for _ in range(2)]
    return territories, accounts, deals


@pytest.mark.django_db
# Each example rewrites the memberships it reads; the fixture's territories and accounts stay.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    memberships=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.booleans()), max_size=10),
    picks=st.lists(st.integers(0, 4), max_size=4),
)
def test_it_matches_accounts_with_an_open_membership_in_a_listed_territory(shop, memberships, picks):
    territories, accounts, deals = shop
    AccountTerritoryMembership.objects.all().delete()
    for account, territory, open_ in memberships:
        AccountTerritoryMembership.objects.create(
            account=accounts[account],
            territory=territories[territory],
            valid_from=date(2024, 1, 1),
            valid_to=None if open_ else date(2025, 1, 1),
        )
    ids = [territories[p].pk if p < len(territories) else 10**9 for p in picks]
    expected = {
        accounts[account].pk for account, territory, open_ in memberships if open_ and territories[territory].pk in ids
    }
    assert set(Account.objects.filter(pk__in_current_territories=ids).values_list("pk", flat=True)) == expected
    matched_deals = set(Deal.objects.filter(account_id__in_current_territories=ids).values_list("pk", flat=True))
    assert matched_deals == {deal.pk for deal in deals if deal.account_id in expected}
