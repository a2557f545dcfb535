from datetime import date

import pytest
from django.db.models import Case, Value, When

from territories.models import RepAssignment, Territory, TerritoryModel
from tests import factories
from tests.models.helpers import assert_invalid, refused_by_database

pytestmark = pytest.mark.django_db


# --- One active territory model ---


def test_it_accepts_one_active_model_among_planning_ones():
    factories.make_territory_model(state="planning")
    active = factories.make_territory_model(state="active")
    active.full_clean()


def test_it_refuses_a_second_active_model():
    factories.make_territory_model(state="active")
    second = factories.make_territory_model(state="planning")
    second.state = "active"
    error = assert_invalid(second, "state")
    assert "already active" in error.message_dict["state"][0]


def test_it_refuses_a_second_active_model_in_the_database():
    factories.make_territory_model(state="active")
    second = factories.make_territory_model(state="planning")
    with refused_by_database():
        TerritoryModel.objects.filter(pk=second.pk).update(state="active")


# --- Rep assignments ---


def make_assignment(**kwargs) -> RepAssignment:
    kwargs.setdefault("rep", factories.make_rep())
    kwargs.setdefault("territory", factories.make_territory())
    kwargs.setdefault("start_date", date(2025, 1, 1))
    return RepAssignment.objects.create(**kwargs)


def test_it_refuses_an_assignment_ending_before_it_starts():
    assignment = make_assignment(start_date=date(2025, 1, 1), end_date=date(2025, 1, 1))
    assignment.full_clean()
    assignment.end_date = date(2024, 12, 31)
    assert_invalid(assignment, "end_date")


def test_it_refuses_an_assignment_ending_before_it_starts_in_the_database():
    assignment = make_assignment(start_date=date(2025, 1, 1))
    with refused_by_database():
        RepAssignment.objects.filter(pk=assignment.pk).update(end_date=date(2024, 12, 31))


def test_it_refuses_an_allocation_outside_1_to_100_in_the_database():
    assignment = make_assignment()
    for bad in (0, 101):
        with refused_by_database():
            RepAssignment.objects.filter(pk=assignment.pk).update(allocation_percent=bad)


def test_it_accepts_owners_one_after_another_and_overlays_alongside():
    territory = factories.make_territory()
    make_assignment(territory=territory, start_date=date(2025, 1, 1), end_date=date(2025, 6, 30))
    successor = RepAssignment(rep=factories.make_rep(), territory=territory, role="owner", start_date=date(2025, 7, 1))
    successor.full_clean()
    successor.save()
    overlay = RepAssignment(rep=factories.make_rep(), territory=territory, role="overlay", start_date=date(2025, 3, 1))
    overlay.full_clean()
    overlay.save()
    # The same dates in another territory are no conflict either.
    make_assignment(start_date=date(2025, 1, 1)).full_clean()


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2025, 6, 30), None), (date(2024, 1, 1), date(2025, 1, 1)), (date(2025, 3, 1), date(2025, 3, 2))],
)
def test_it_refuses_overlapping_owners_of_one_territory(start, end):
    territory = factories.make_territory()
    make_assignment(territory=territory, start_date=date(2025, 1, 1), end_date=date(2025, 6, 30))
    second = RepAssignment(rep=factories.make_rep(), territory=territory, role="owner", start_date=start, end_date=end)
    error = assert_invalid(second, "start_date")
    assert "already has an owner" in str(error)


def test_it_refuses_overlapping_owners_of_one_territory_in_the_database():
    territory = factories.make_territory()
    make_assignment(territory=territory, start_date=date(2025, 1, 1))  # open-ended
    with refused_by_database():
        RepAssignment.objects.bulk_create(
            [RepAssignment(rep=factories.make_rep(), territory=territory, role="owner", start_date=date(2030, 1, 1))]
        )


# --- The hierarchy: model validation ---


def test_it_accepts_a_parent_in_the_same_model():
    root = factories.make_territory()
    child = factories.make_territory(parent=root)
    child.full_clean()


def test_it_refuses_a_territory_as_its_own_parent():
    territory = factories.make_territory()
    territory.parent = territory
    assert_invalid(territory, "parent")


def test_it_refuses_a_territory_made_its_own_ancestor():
    root = factories.make_territory()
    child = factories.make_territory(parent=root)
    grandchild = factories.make_territory(parent=child)
    root.parent = grandchild
    error = assert_invalid(root, "parent")
    assert "own ancestor" in error.message_dict["parent"][0]


def test_it_refuses_a_parent_in_another_model():
    parent = factories.make_territory()
    child = factories.make_territory()
    child.parent = parent
    error = assert_invalid(child, "parent")
    assert "same territory model" in error.message_dict["parent"][0]


# --- The hierarchy: database triggers ---


def test_it_refuses_a_cycle_made_by_a_queryset_update():
    root = factories.make_territory()
    child = factories.make_territory(parent=root)
    grandchild = factories.make_territory(parent=child)
    with refused_by_database():
        Territory.objects.filter(pk=root.pk).update(parent=grandchild)
    with refused_by_database():
        Territory.objects.filter(pk=root.pk).update(parent=root)
    root.refresh_from_db()
    assert root.parent_id is None


def test_it_refuses_a_cycle_made_by_one_statement_moving_two_roots_under_each_other():
    first = factories.make_territory()
    second = factories.make_territory(territory_model=first.territory_model)
    with refused_by_database():
        Territory.objects.filter(pk__in=[first.pk, second.pk]).update(
            parent=Case(When(pk=first.pk, then=Value(second.pk)), default=Value(first.pk))
        )


def test_it_refuses_a_cross_model_parent_in_the_database():
    parent = factories.make_territory()
    child = factories.make_territory()
    with refused_by_database():
        Territory.objects.filter(pk=child.pk).update(parent=parent)
    with refused_by_database():
        Territory.objects.bulk_create(
            [Territory(territory_model=child.territory_model, code="x", name="X", kind="geographic", parent=parent)]
        )


def test_it_refuses_moving_a_territory_to_another_model_in_the_database():
    root = factories.make_territory()
    child = factories.make_territory(parent=root)
    other_model = factories.make_territory_model()
    with refused_by_database():
        Territory.objects.filter(pk=root.pk).update(territory_model=other_model)
    child.refresh_from_db()
    assert child.parent.territory_model_id == child.territory_model_id == root.territory_model_id
