import pytest
from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from territories.models import Territory, TerritoryClosure
from tests import factories
from tests.models.closure import closure_by_walking_parents, stored_closure
from tests.models.helpers import refused_by_database


@pytest.fixture
def tree(db):
    """root ─ a ─ a1 ─ a11
    └ b ─ b1"""
    root = factories.make_territory(code="root")
    a = factories.make_territory(parent=root, code="a")
    a1 = factories.make_territory(parent=a, code="a1")
    a11 = factories.make_territory(parent=a1, code="a11")
    b = factories.make_territory(parent=root, code="b")
    b1 = factories.make_territory(parent=b, code="b1")
    return {t.code: t for t in (root, a, a1, a11, b, b1)}


def depths_below(territory) -> dict[str, int]:
    links = TerritoryClosure.objects.filter(ancestor=territory).select_related("descendant")
    return {link.descendant.code: link.depth for link in links}


def test_it_fills_the_closure_on_insert(tree):
    assert depths_below(tree["root"]) == {"root": 0, "a": 1, "a1": 2, "a11": 3, "b": 1, "b1": 2}
    assert depths_below(tree["a1"]) == {"a1": 0, "a11": 1}
    assert stored_closure() == closure_by_walking_parents()


def test_it_moves_a_whole_subtree_on_reparenting(tree):
    Territory.objects.filter(pk=tree["a1"].pk).update(parent=tree["b1"])
    assert depths_below(tree["b"]) == {"b": 0, "b1": 1, "a1": 2, "a11": 3}
    assert depths_below(tree["a"]) == {"a": 0}
    assert stored_closure() == closure_by_walking_parents()


def test_it_keeps_the_closure_when_a_subtree_becomes_a_root_and_returns(tree):
    a = tree["a"]
    a.parent = None
    a.save()
    assert depths_below(tree["root"]) == {"root": 0, "b": 1, "b1": 2}
    assert stored_closure() == closure_by_walking_parents()
    a.parent = tree["b1"]
    a.save()
    assert depths_below(tree["root"])["a11"] == 5
    assert stored_closure() == closure_by_walking_parents()


def test_it_keeps_the_closure_when_one_statement_moves_several_subtrees(tree):
    Territory.objects.filter(pk__in=[tree["a1"].pk, tree["b"].pk]).update(parent=tree["a"])
    assert stored_closure() == closure_by_walking_parents()
    assert depths_below(tree["a"]) == {"a": 0, "a1": 1, "a11": 2, "b": 1, "b1": 2}


def test_it_leaves_the_closure_untouched_when_a_cycle_is_refused(tree):
    before = stored_closure()
    with refused_by_database():
        Territory.objects.filter(pk=tree["a"].pk).update(parent=tree["a11"])
    assert stored_closure() == before == closure_by_walking_parents()


def test_it_drops_the_closure_rows_of_a_deleted_leaf(tree):
    tree["a11"].delete()
    assert stored_closure() == closure_by_walking_parents()
    assert not TerritoryClosure.objects.filter(descendant_id=tree["a11"].pk).exists()


def has_cycle(parent_of: dict[int, int | None]) -> bool:
    for start in parent_of:
        node, seen = start, set()
        while node is not None:
            if node in seen:
                return True
            seen.add(node)
            node = parent_of[node]
    return False


def classify(parent_of: dict[int, int | None], moves: dict[int, int | None]) -> str:
    """Reference for one UPDATE statement applying several moves.

    "cycle": the tree after the statement has a loop, so it must be refused.
    "safe": applying any subset of the moves leaves no loop, so the row triggers (which check and
    patch the closure one row at a time, in any order) must accept it and end with the right closure.
    "tangled": valid at the end but a loop in between (e.g. swapping a parent and its child); the
    triggers may refuse it, and if they accept it the closure must still be right.
    """
    if has_cycle({**parent_of, **moves}):
        return "cycle"
    items = list(moves.items())
    for mask in range(1, 2 ** len(items)):
        subset = {child: parent for bit, (child, parent) in enumerate(items) if mask >> bit & 1}
        if has_cycle({**parent_of, **subset}):
            return "tangled"
    return "safe"


# A move: (territory index, new parent index or None); several moves may share one UPDATE statement.
statement_lists = st.lists(
    st.lists(st.tuples(st.integers(0, 7), st.one_of(st.none(), st.integers(0, 7))), min_size=1, max_size=4),
    min_size=1,
    max_size=12,
)


class ClosurePropertyTests(TestCase):
    @settings(max_examples=150, deadline=None)
    @given(
        initial_parents=st.lists(st.one_of(st.none(), st.integers(0, 7)), min_size=8, max_size=8), steps=statement_lists
    )
    def test_it_keeps_the_closure_equal_to_the_parent_walk_and_refuses_every_cycle(self, initial_parents, steps):
        territory_model = factories.make_territory_model()
        nodes = []
        for index, parent_index in enumerate(initial_parents):
            # Insert as a forest: a node may only hang under an earlier one.
            parent = nodes[parent_index] if parent_index is not None and parent_index < index else None
            nodes.append(factories.make_territory(territory_model=territory_model, parent=parent))
        self.assertEqual(stored_closure(), closure_by_walking_parents())

        for step in steps:
            moves = {nodes[child].pk: (nodes[parent].pk if parent is not None else None) for child, parent in step}
            parent_of = dict(Territory.objects.values_list("id", "parent_id"))
            before = stored_closure()
            statement = Territory.objects.filter(pk__in=list(moves)).update
            if len(set(moves.values())) == 1:
                new_parent = next(iter(moves.values()))
            else:
                new_parent = Case(*[When(pk=child, then=Value(parent)) for child, parent in moves.items()])
            kind = classify(parent_of, moves)
            event(kind)
            try:
                with transaction.atomic():
                    statement(parent=new_parent)
            except IntegrityError:
                self.assertNotEqual(kind, "safe", f"refused a safe re-parenting {moves} of {parent_of}")
                self.assertEqual(dict(Territory.objects.values_list("id", "parent_id")), parent_of)
                self.assertEqual(stored_closure(), before)
            else:
                self.assertNotEqual(kind, "cycle", f"accepted a cycle {moves} of {parent_of}")
            self.assertEqual(stored_closure(), closure_by_walking_parents())
