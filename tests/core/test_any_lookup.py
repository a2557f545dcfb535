"""`field__any=[…]` (core.lookups) selects exactly what `field__in=[…]` does, on plain and relation fields,
and an empty list selects nothing."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territories.models import Territory
from tests import factories


@pytest.fixture
def territories(db):
    model = factories.make_territory_model()
    root = factories.make_territory(model, code="root")
    return [root] + [factories.make_territory(model, parent=root, code=f"child-{n}") for n in range(6)]


@pytest.mark.django_db
# The fixture only reads: sharing it across examples is safe.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(min_value=0, max_value=9), max_size=8))
def test_any_matches_in(territories, picks):
    ids = [territories[p].pk if p < len(territories) else 10**9 + p for p in picks]
    expected = set(Territory.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    assert set(Territory.objects.filter(pk__any=ids).values_list("pk", flat=True)) == expected
    by_parent = set(Territory.objects.filter(parent__any=ids).values_list("pk", flat=True))
    assert by_parent == ({t.pk for t in territories[1:]} if territories[0].pk in ids else set())


def test_an_empty_list_matches_nothing_and_keeps_the_other_branch(territories):
    root = territories[0]
    assert not Territory.objects.filter(pk__any=[]).exists()
    either = Territory.objects.filter(pk__any=[]) | Territory.objects.filter(pk=root.pk)
    assert list(either.values_list("pk", flat=True)) == [root.pk]
