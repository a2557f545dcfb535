"""An account's reassignment recomputes only the territories whose accounts changed: not the ancestors its
old and new territories share (they hold it before and after), and the figures still equal a full
recompute's, in both views."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Account
from kpis import services as kpi_services
from kpis.models import KpiFigure, RollupDirty
from territories import services
from territories.models import AssignmentRun
from territories.reassign_queue import reassign_pending_drain
from tests import factories

pytestmark = pytest.mark.django_db(databases=["default", "progress"])

CITIES = ["Oakland", "Fresno", "Albany", "Buffalo"]


@pytest.fixture
def alignment():
    """root → west (CA) → oakland / fresno, root → east (NY) → albany / buffalo, and a vertical."""
    model = factories.make_territory_model(code="fy26", state="active")
    root = factories.make_territory(model, code="root")
    factories.make_rule(root)  # a rule without criteria: every account
    regions = {}
    for region, cities in (("CA", CITIES[:2]), ("NY", CITIES[2:])):
        regions[region] = factories.make_territory(model, parent=root, code=region.lower())
        factories.make_rule(regions[region], {"field": "region", "values": [region]})
        for city in cities:
            leaf = factories.make_territory(model, parent=regions[region], code=city.lower())
            factories.make_rule(leaf, {"field": "city", "values": [city]})
    media = factories.make_territory(model, code="media", kind="vertical")
    factories.make_rule(media, {"field": "industry", "values": ["media"]})
    # Product territories hold deals: the widgets deals of Californian accounts.
    widgets = factories.make_territory(model, parent=regions["CA"], code="ca-widgets", kind="product")
    factories.make_rule(widgets, {"field": "product_line", "values": ["widgets"]})
    return model


def codes(ids) -> set[str]:
    from territories.models import Territory

    return set(Territory.objects.filter(pk__in=ids).values_list("code", flat=True))


def move(account: Account, city: str) -> None:
    account.city = city
    account.region = "CA" if city in CITIES[:2] else "NY"
    account.save()


def test_a_move_between_two_leaves_of_a_region_names_the_two_leaves_only(alignment):
    account = factories.make_account(region="CA", city="Oakland", industry="media")
    services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=alignment))
    move(account, "Fresno")
    counts = services.account_reassign(account_ids=[account.pk])
    assert codes(counts["moved_territories"]) == {"oakland", "fresno"}
    move(account, "Albany")  # across regions: the regions too, never the root or the vertical
    counts = services.account_reassign(account_ids=[account.pk])
    assert codes(counts["moved_territories"]) == {"fresno", "ca", "albany", "ny"}
    counts = services.account_reassign(account_ids=[account.pk])  # nothing moves
    assert counts["moved_territories"] == []


def test_the_queue_marks_them_exactly_and_the_flush_leaves_the_shared_ancestors_alone(
    alignment, django_capture_on_commit_callbacks
):
    account = factories.make_account(region="CA", city="Oakland")
    services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=alignment))
    kpi_services.rollups_recompute()
    RollupDirty.objects.all().delete()
    root_computed = set(KpiFigure.objects.filter(territory__code="root").values_list("computed_at", flat=True))
    move(account, "Fresno")
    with django_capture_on_commit_callbacks(execute=False):
        services.account_changed(account_id=account.pk, changed_fields={"city"})
    reassign_pending_drain()
    marks = dict(RollupDirty.objects.values_list("territory__code", "exact"))
    assert marks == {"oakland": True, "fresno": True}
    result = kpi_services.rollups_flush_dirty()
    assert result.territories == 2
    assert set(KpiFigure.objects.filter(territory__code="root").values_list("computed_at", flat=True)) == root_computed


def test_a_wider_mark_wins_over_an_exact_one(alignment):
    from territories.models import Territory

    leaf = Territory.objects.get(code="oakland")
    kpi_services.rollups_mark_dirty(territory_ids=[leaf.pk], targets_only=True)
    kpi_services.memberships_moved(territory_ids=[leaf.pk])
    assert RollupDirty.objects.values_list("targets_only", "exact").get() == (False, True)
    kpi_services.rollups_mark_dirty(territory_ids=[leaf.pk])
    assert RollupDirty.objects.values_list("targets_only", "exact").get() == (False, False)
    kpi_services.memberships_moved(territory_ids=[leaf.pk])
    assert RollupDirty.objects.values_list("targets_only", "exact").get() == (False, False)


def figures() -> dict:
    fields = [f.name for f in KpiFigure._meta.concrete_fields if f.name not in ("id", "computed_at")]
    return {tuple(row[:4]): row for row in KpiFigure.objects.order_by().values_list(*fields)}


@pytest.mark.parametrize("seed", range(4))
def test_after_random_moves_the_figures_equal_a_full_recompute(alignment, seed, django_capture_on_commit_callbacks):
    from accounts.models import ProductLine

    rng = random.Random(seed)
    today = timezone.localdate()
    line = ProductLine.objects.create(code="widgets", name="Widgets")
    products = [factories.make_product(product_line=line), factories.make_product(), None]
    accounts = []
    for _ in range(12):
        city = rng.choice(CITIES)
        account = factories.make_account(
            region="CA" if city in CITIES[:2] else "NY", city=city, industry=rng.choice(["media", "retail"])
        )
        accounts.append(account)
        for _ in range(rng.randint(0, 3)):
            closed = today - timedelta(days=rng.randint(0, 500))
            stage = rng.choice(["won", "lost", "proposal"])
            factories.make_deal(
                account=account,
                stage=stage,
                amount=rng.randint(1, 900),
                created_on=closed - timedelta(days=30),
                closed_on=None if stage == "proposal" else closed,
                expected_close_on=today + timedelta(days=rng.randint(0, 90)) if stage == "proposal" else None,
                product=rng.choice(products),
            )
    services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=alignment))
    kpi_services.rollups_recompute()
    RollupDirty.objects.all().delete()
    for _ in range(2):
        moved = rng.sample(accounts, 4)
        for account in moved:
            move(account, rng.choice(CITIES))
            if rng.random() < 0.5:
                account.industry = "retail" if account.industry == "media" else "media"
                account.save()
        with django_capture_on_commit_callbacks(execute=False):
            for account in moved:
                services.account_changed(account_id=account.pk, changed_fields={"city", "industry"})
        reassign_pending_drain()
        kpi_services.rollups_flush_dirty()
    incremental = figures()
    kpi_services.rollups_recompute()
    assert incremental == figures()
