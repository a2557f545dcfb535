"""The incremental reassignment queue (state changes): accounts whose territories must be recomputed.

A write that moves accounts (a rule field changed, a deal's account or product changed, an override set)
queues them in its own transaction; one Celery task per transaction drains the queue after commit, in
batches, each batch reassigned and dequeued in one transaction. So a bulk sync returns without waiting for
the engine, a burst of writes costs a few drains, and a lost or failed message leaves the rows queued for
the beat sweep. Draining twice is harmless: reassignment is idempotent and a drained row is gone.
"""

import logging
from collections.abc import Iterable

from django.db import connection, transaction

from core.hooks import hook_call, task_enqueue

logger = logging.getLogger(__name__)

DRAIN_BATCH_SIZE = 2_000


def _enqueue_drain() -> None:
    from territories.tasks import reassign_pending_drain_task

    task_enqueue(reassign_pending_drain_task)


def accounts_reassign_queue(*, account_ids: Iterable[int]) -> int:
    """Queue these accounts in the caller's transaction; one drain is enqueued when it commits."""
    ids = sorted({int(pk) for pk in account_ids if pk is not None})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO territories_reassignpending (account_id, since)
            SELECT id, now() FROM unnest(%s::bigint[]) AS id
            ON CONFLICT (account_id) DO NOTHING
            """,
            [ids],
        )
    conn = transaction.get_connection()
    already = conn.in_atomic_block and any(func is _enqueue_drain for _, func, _ in conn.run_on_commit)
    if not already:
        transaction.on_commit(_enqueue_drain)
    return len(ids)


def reassign_pending_drain(*, batch_size: int = DRAIN_BATCH_SIZE) -> int:
    """Reassign every queued account, a batch per transaction; returns how many were reassigned.

    SKIP LOCKED lets two drains (a redelivery, the sweep) share the queue instead of waiting on each other.
    """
    from territories.services import account_reassign

    drained = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    DELETE FROM territories_reassignpending
                    WHERE account_id IN (
                        SELECT account_id FROM territories_reassignpending
                        ORDER BY account_id LIMIT %s FOR UPDATE SKIP LOCKED
                    )
                    RETURNING account_id
                    """,
                    [batch_size],
                )
                account_ids = [row[0] for row in cursor.fetchall()]
            if not account_ids:
                return drained
            counts = account_reassign(account_ids=account_ids)
            if counts and "moved_territories" in counts:
                # The incremental write names the territories whose accounts changed, its common ancestors
                # left out (empty when no membership opened or closed: a new deal of an account that stays
                # put is rolled up as a delta already). The flush runs after this batch commits.
                if counts["moved_territories"]:
                    hook_call("kpis.services", "memberships_moved", territory_ids=counts["moved_territories"])
            elif _memberships_moved(counts):
                # The general path: every territory these accounts are or were in, with their ancestors.
                hook_call("kpis.services", "memberships_changed", account_ids=account_ids)
        drained += len(account_ids)


_MOVE_COUNTS = ("opened", "closed", "deleted_same_day", "deals_opened", "deals_closed", "deals_deleted_same_day")


def _memberships_moved(counts: dict) -> bool:
    """Whether a reassignment opened or closed any membership. Without its counts (the general path
    returns others), assume it did."""
    if not counts or not all(key in counts for key in _MOVE_COUNTS):
        return True
    return any(counts[key] for key in _MOVE_COUNTS)


def reassign_pending_stale_exist(*, older_than_seconds: int) -> bool:
    """Rows queued longer ago than this: their drain message was lost or failed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM territories_reassignpending WHERE since < now() - make_interval(secs => %s))",
            [older_than_seconds],
        )
        return cursor.fetchone()[0]
