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


def accounts_changed_on_commit(account_ids: list[int]) -> None:
    """Re-run the assignment for these accounts once the change commits (memberships and KPIs follow)."""
    ids = sorted({pk for pk in account_ids if pk is not None})
    if ids:
        transaction.on_commit(lambda: hook_call("territories.services", "account_reassign", account_ids=ids))


def deals_changed_on_commit(deal_ids: list[int]) -> None:
    """Product-territory memberships and the KPI rollups of these deals, once the change commits."""
    ids = sorted({pk for pk in deal_ids if pk is not None})
    if not ids:
        return

    def notify():
        hook_call("territories.services", "deals_changed", deal_ids=ids)
        hook_call("kpis.services", "deal_changed", deal_ids=ids)

    transaction.on_commit(notify)


def territories_dirty_on_commit(territory_ids: list[int]) -> None:
    """Targets changed: the KPI rollups of these territories (quota attainment) need recomputing."""
    ids = sorted({pk for pk in territory_ids if pk is not None})
    if ids:
        transaction.on_commit(lambda: hook_call("kpis.services", "rollups_mark_dirty", territory_ids=ids))
