"""Many postal ranges: full runs classify postal codes by their elementary interval among the ranges'
bounds (a binary search per distinct code), so any number of ranges runs over classes of accounts and gives
exactly the brute-force reference's answer — the incremental path (every account through the rules) too."""

import random

import pytest

from accounts.models import Account
from territories.engine import assignment_compute
from tests import factories
from tests.territories.helpers import engine_answer
from tests.territories.reference import reference_assign

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_ranges():
    """600 range territories under one country (overlapping, nested, touching, of two code lengths, some
    in letters of either case) and accounts on, inside, between and outside their bounds."""
    rng = random.Random(20261207)
    model = factories.make_territory_model(state="active")
    country = factories.make_territory(model, code="de")
    factories.make_rule(country, {"field": "country", "values": ["DE"]})
    bounds = []
    for n in range(600):
        if n % 10 == 9:  # four-character ranges in letters, stored in mixed case
            start = f"A{rng.randrange(10)}{chr(65 + rng.randrange(20))}{rng.randrange(10)}"
            end = start[:2] + chr(ord(start[2]) + rng.randrange(6)).lower() + "9"
        else:
            low = rng.randrange(0, 99_000)
            start, end = f"{low:05d}", f"{min(99_999, low + rng.choice([0, 5, 120, 999, 15_000])):05d}"
        bounds += [start, end]
        leaf = factories.make_territory(model, code=f"plz-{n:03d}", parent=country, priority=rng.randrange(3))
        factories.make_rule(leaf, {"field": "postal_code", "operator": "range", "range_start": start, "range_end": end})
    codes = [*bounds[:400], *(f"{rng.randrange(100_000):05d}" for _ in range(300)), "a1b2", "0123", "", "999999"]
    for code in codes:
        factories.make_account(country="DE", postal_code=code)
    return model


def test_it_classifies_any_number_of_ranges_and_equals_the_reference(many_ranges):
    expected = reference_assign(many_ranges)

    got = engine_answer(many_ranges)

    assert got["deep"] == expected["deep"]
    assert got["overlaps"] == expected["overlaps"]
    assert len({territory for _, territory, _ in got["deep"]}) > 100  # the ranges do place accounts
    every = list(Account.objects.values_list("pk", flat=True))
    assert engine_answer(many_ranges, account_ids=every) == got


def test_a_full_run_over_many_ranges_runs_over_classes(many_ranges):
    from django.db import connection, transaction

    with transaction.atomic():
        assignment_compute(model_id=many_ranges.pk)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(DISTINCT pkey) FROM _engine_pclass")
            codes, classes = cursor.fetchone()
        transaction.set_rollback(True)
    # Every distinct code of a length some range has, each in one class; codes of other lengths ("" and
    # "999999") are in no range and share the class without tags.
    distinct = set(Account.objects.values_list("postal_code", flat=True))
    assert codes == len({code for code in distinct if len(code) in (4, 5)})
    assert 1 < classes < codes
