"""Calls into other apps' incremental services, made only when those services exist.

The API and sync code notify the assignment engine (territories.services) and the KPI rollups
(kpis.services) after writes; each name here is an integration point, skipped quietly if absent.
"""

import importlib
import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def hook_call(module_path: str, name: str, **kwargs):
    """module.name(**kwargs) if it exists; None otherwise."""
    try:
        module = importlib.import_module(module_path)
    except ImportError:
        logger.debug("hook module %s not available", module_path)
        return None
    function = getattr(module, name, None)
    if function is None:
        logger.debug("hook %s.%s not available", module_path, name)
        return None
    return function(**kwargs)


def task_enqueue(task, *args, **kwargs) -> bool:
    """task.delay(...), but a broker that is down only logs: the caller's durable queue row (pending
    reassignment, dirty rollup) is already committed and the beat sweep re-enqueues it."""
    try:
        task.delay(*args, **kwargs)
    except Exception:  # kombu raises several types for an unreachable broker
        logger.warning("could not enqueue %s; the periodic sweep will pick the work up", task.name, exc_info=True)
        return False
    return True


def accounts_changed_on_commit(account_ids: list[int]) -> None:
    """Queue these accounts for reassignment in the caller's transaction; a worker drains the queue
    once it commits (memberships, then the KPI rollups, follow)."""
    hook_call("territories.reassign_queue", "accounts_reassign_queue", account_ids=account_ids)


def deals_changed_on_commit(deal_ids: list[int], moved_deal_ids: list[int] | None = None) -> None:
    """These deals changed: their KPI rollups are marked dirty once the change commits; the accounts of
    moved_deal_ids (new deals, or a changed account or product; default all) are queued for reassignment,
    which places the deals in product territories."""
    ids = sorted({pk for pk in deal_ids if pk is not None})
    if not ids:
        return
    moved = ids if moved_deal_ids is None else sorted({pk for pk in moved_deal_ids if pk is not None})
    if moved:
        from accounts.models import Deal

        accounts_changed_on_commit(list(Deal.objects.filter(pk__in=moved).values_list("account_id", flat=True)))
    transaction.on_commit(lambda: hook_call("kpis.services", "deal_changed", deal_ids=ids))


def territories_dirty_on_commit(territory_ids: list[int]) -> None:
    """Targets changed: the targets of these territories' KPI figures (quota attainment) need setting."""
    ids = sorted({pk for pk in territory_ids if pk is not None})
    if ids:
        transaction.on_commit(
            lambda: hook_call("kpis.services", "rollups_mark_dirty", territory_ids=ids, targets_only=True)
        )
