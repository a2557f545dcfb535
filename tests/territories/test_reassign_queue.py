"""The incremental reassignment queue: queued with the change, drained after commit, never lost."""

import pytest
from django.db import transaction

from accounts.models import Account
from accounts.services import sync_rows_upsert
from territories import reassign_queue
from territories.models import ReassignPending, Territory
from tests import factories
from tests.territories.helpers import current_memberships

pytestmark = pytest.mark.django_db(databases=["default", "progress"])


@pytest.fixture
def alignment():
    model = factories.make_territory_model(code="fy26", state="active")
    for code, region in (("west", "CA"), ("east", "NY")):
        factories.make_rule(factories.make_territory(model, code=code), {"field": "region", "values": [region]})
    return model


def account_row(external_id: str, region: str, name: str = "Acme") -> dict:
    return {"external_id": external_id, "name": name, "country": "US", "region": region}


def territory_of(external_id: str) -> str:
    account_id = Account.objects.get(external_id=external_id).pk
    territory_ids = {territory for account, territory in current_memberships() if account == account_id}
    return ",".join(sorted(Territory.objects.filter(pk__in=territory_ids).values_list("code", flat=True)))


def test_a_synced_account_is_queued_with_the_write_and_placed_once_it_commits(
    alignment, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sync_rows_upsert(kind="accounts", rows=[account_row("A-1", "CA"), account_row("A-2", "NY")])
        assert ReassignPending.objects.count() == 2 and current_memberships() == set()
    assert len(callbacks) == 1  # one drain per transaction, however many accounts
    callbacks[0]()
    assert (territory_of("A-1"), territory_of("A-2")) == ("west", "east")
    assert not ReassignPending.objects.exists()


def test_only_a_change_to_a_field_rules_read_queues_the_account(alignment):
    sync_rows_upsert(kind="accounts", rows=[account_row("A-1", "CA")])
    assert reassign_queue.reassign_pending_drain() == 1
    sync_rows_upsert(kind="accounts", rows=[account_row("A-1", "CA", name="Acme Inc.")])
    assert not ReassignPending.objects.exists()
    sync_rows_upsert(kind="accounts", rows=[account_row("A-1", "NY", name="Acme Inc.")])
    assert reassign_queue.reassign_pending_drain() == 1
    assert territory_of("A-1") == "east"


def test_a_rolled_back_write_queues_nothing(alignment, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks(execute=True)
    with capture as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        sync_rows_upsert(kind="accounts", rows=[account_row("A-1", "CA")])
        raise RuntimeError("the caller's transaction fails")
    assert (callbacks, ReassignPending.objects.count(), current_memberships()) == ([], 0, set())


def test_an_unreachable_broker_keeps_the_rows_for_the_sweep(alignment, monkeypatch, django_capture_on_commit_callbacks):
    from territories import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(tasks.reassign_pending_drain_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        sync_rows_upsert(kind="accounts", rows=[account_row("A-1", "CA")])  # the write itself succeeds
    assert ReassignPending.objects.count() == 1 and current_memberships() == set()
    assert not reassign_queue.reassign_pending_stale_exist(older_than_seconds=60)
    assert reassign_queue.reassign_pending_stale_exist(older_than_seconds=-1)
    monkeypatch.undo()
    monkeypatch.setattr(tasks, "QUEUE_SWEEP_AFTER_SECONDS", -1)
    assert tasks.reassign_pending_sweep.delay().get() is True  # eager here: the drain runs at once
    assert territory_of("A-1") == "west" and not ReassignPending.objects.exists()


def test_the_drain_works_in_batches_and_a_second_drain_finds_nothing(alignment):
    with transaction.atomic():
        accounts = [factories.make_account(region=("CA", "NY")[n % 2]) for n in range(5)]
        reassign_queue.accounts_reassign_queue(account_ids=[a.pk for a in accounts] + [a.pk for a in accounts[:2]])
        transaction.set_rollback(False)
    # (in a TestCase transaction the on_commit drain never ran; drain by hand in batches of 2)
    assert reassign_queue.reassign_pending_drain(batch_size=2) == 5
    assert reassign_queue.reassign_pending_drain() == 0
    west, east = (Territory.objects.get(code=code).pk for code in ("west", "east"))
    assert current_memberships() == {(a.pk, (west, east)[n % 2]) for n, a in enumerate(accounts)}


def test_a_reassignment_that_moves_nothing_marks_no_rollups_dirty(alignment, monkeypatch):
    """A new deal of an account that stays put: its delta is rolled up already, no territory recomputes."""
    marked = []
    monkeypatch.setattr("kpis.services.memberships_moved", lambda *, territory_ids: marked.append(territory_ids))
    sync_rows_upsert(kind="accounts", rows=[account_row("A-1", "CA")])
    reassign_queue.reassign_pending_drain()
    west, east = (Territory.objects.get(code=code).pk for code in ("west", "east"))
    assert marked == [[west]]  # placed for the first time: its territory's figures change
    account = Account.objects.get(external_id="A-1")
    reassign_queue.accounts_reassign_queue(account_ids=[account.pk])  # as a new deal of it queues it
    reassign_queue.reassign_pending_drain()
    assert len(marked) == 1
    sync_rows_upsert(kind="accounts", rows=[account_row("A-1", "NY")])
    reassign_queue.reassign_pending_drain()
    assert marked[-1] == sorted([west, east]) and len(marked) == 2  # moved to east: both territories recompute
