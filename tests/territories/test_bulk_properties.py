"""A bulk write (the history tables rebuilt aside and swapped in, core.table_swap) must write exactly what the
in-place write does: on random alignments, random changes undone the same day, an override re-sourcing a
row, and an activation, the history rows, their sources, the deals' history and every count are the same
both ways."""

from decimal import Decimal
from unittest import mock

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Account
from territories import engine, services
from territories.models import AccountTerritoryMembership, DealTerritoryMembership, TerritoryOverride
from tests.territories.test_properties import COUNTRIES, POSTALS, REGIONS, build, territory_strategy

POOLS = {"region": REGIONS, "postal_code": POSTALS, "country": COUNTRIES}

changes_strategy = st.lists(
    st.tuples(st.integers(0, 23), st.sampled_from(sorted(POOLS)), st.integers(0, 6)), min_size=1, max_size=4
)


def _change(accounts: list[Account], changes) -> dict[int, dict]:
    """Apply the changes; return each changed account's previous values."""
    previous: dict[int, dict] = {}
    for index, field, value in changes:
        account = accounts[index % len(accounts)]
        previous.setdefault(account.pk, {}).setdefault(field, getattr(account, field))
        pool = POOLS[field]
        Account.objects.filter(pk=account.pk).update(**{field: pool[value % len(pool)]})
    return previous


def _pin_where_it_is(account: Account) -> None:
    """An override to a territory the account is in by a rule: the same row, now held by the override."""
    row = (
        AccountTerritoryMembership.objects.filter(account=account, valid_to=None, source="rule")
        .order_by("territory_id")
        .first()
    )
    if row:
        TerritoryOverride.objects.create(territory_id=row.territory_id, account=account, reason="t")


def _history() -> tuple[list, list]:
    accounts = sorted(
        AccountTerritoryMembership.objects.values_list(
            "account_id", "territory__territory_model__code", "territory__code", "valid_from", "valid_to", "source"
        )
    )
    deals = sorted(
        DealTerritoryMembership.objects.values_list(
            "deal_id", "territory__territory_model__code", "territory__code", "valid_from", "valid_to"
        )
    )
    return accounts, deals


class BulkWriteMatchesInPlaceTests(TestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        many=st.lists(
            st.fixed_dictionaries(
                {
                    "country": st.sampled_from(COUNTRIES),
                    "region": st.sampled_from(REGIONS),
                    "postal_code": st.sampled_from(POSTALS),
                    "industry": st.sampled_from(["technology", "retail"]),
                    "employees": st.sampled_from([None, 5, 250]),
                    "annual_revenue": st.sampled_from([None, Decimal("0"), Decimal("1000")]),
                }
            ),
            min_size=4,
            max_size=24,
        ),
        territories_data=st.lists(territory_strategy, min_size=1, max_size=7),
        deals_data=st.lists(st.tuples(st.integers(0, 23), st.integers(0, 3)), max_size=8),
        changes=changes_strategy,
        pinned=st.integers(0, 23),
        activate=st.booleans(),
    )
    def test_it_writes_the_same_history_in_bulk_and_in_place(
        self, many, territories_data, deals_data, changes, pinned, activate
    ):
        model = build(many, territories_data, deals_data)
        accounts = list(Account.objects.order_by("pk"))

        def written(bulk: bool) -> tuple[list, tuple[list, list]]:
            """Runs, changes and (activate) a plan's activation, all rolled back afterwards."""
            with (
                mock.patch.object(services, "_bulk_load_wanted", lambda cursor, *, table, to_open: bulk),
                # Every run with a change diffs all accounts (not just the changed ones): the path a bulk
                # write takes, here on a handful of changed accounts.
                mock.patch.object(engine, "_SCOPED_SHARE", 10**9),
                transaction.atomic(),
            ):
                counts = [services.assignment_apply(model=model)]
                previous = _change(accounts, changes)
                counts.append(services.assignment_apply(model=model))
                # Back the same day (the rows opened today go again), and one account's row re-sourced.
                for pk, values in previous.items():
                    Account.objects.filter(pk=pk).update(**values)
                _pin_where_it_is(accounts[pinned % len(accounts)])
                counts.append(services.assignment_apply(model=model))
                if activate:
                    plan = services.territory_model_copy(source=model, code="plan", name="Plan")
                    counts.append(services.territory_model_activate(model=plan))
                history = _history()
                transaction.set_rollback(True)
            return counts, history

        in_place, bulk = written(False), written(True)
        self.assertEqual(bulk, in_place)
