"""An independent reference for TerritoryClosure: walk the parent pointers in Python."""

from territories.models import Territory, TerritoryClosure


def closure_by_walking_parents() -> set[tuple[int, int, int]]:
    parent_of = dict(Territory.objects.values_list("id", "parent_id"))
    pairs = set()
    for territory_id in parent_of:
        node, depth, seen = territory_id, 0, set()
        while node is not None:
            assert node not in seen, f"cycle through territory {node}"
            seen.add(node)
            pairs.add((node, territory_id, depth))
            node, depth = parent_of[node], depth + 1
    return pairs


def stored_closure() -> set[tuple[int, int, int]]:
    rows = list(TerritoryClosure.objects.values_list("ancestor_id", "descendant_id", "depth"))
    assert len(rows) == len(set(rows))
    return set(rows)
