from celery import shared_task

from territories import reassign_queue
from territories.models import AssignmentRun, TerritoryModel
from territories.services import assignment_run_execute, plan_diff_refresh, plan_diffs_enqueue_pending

QUEUE_SWEEP_AFTER_SECONDS = 120


@shared_task(name="territories.tasks.assignment_run_task", acks_late=True, reject_on_worker_lost=True)
def assignment_run_task(run_id: int) -> str:
    """Run a queued assignment. A redelivered message finds the run finished and does nothing."""
    run = AssignmentRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    return assignment_run_execute(run=run).status


@shared_task(
    name="territories.tasks.reassign_pending_drain_task",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=3,
    default_retry_delay=10,
)
def reassign_pending_drain_task(self) -> int:
    """Reassign the queued accounts; enqueued on commit by reassign_queue.accounts_reassign_queue."""
    try:
        return reassign_queue.reassign_pending_drain()
    except Exception as error:
        raise self.retry(exc=error)


@shared_task(name="territories.tasks.reassign_pending_sweep", acks_late=True, reject_on_worker_lost=True)
def reassign_pending_sweep() -> bool:
    """Beat: re-enqueue a drain for queued accounts a lost or failed message left behind."""
    if reassign_queue.reassign_pending_stale_exist(older_than_seconds=QUEUE_SWEEP_AFTER_SECONDS):
        reassign_pending_drain_task.delay()
        return True
    return False


@shared_task(name="territories.tasks.plan_diff_refresh_task", acks_late=True, reject_on_worker_lost=True)
def plan_diff_refresh_task(model_id: int) -> bool:
    """Compare a plan's latest run with the alignment; a redelivered message finds it current."""
    plan = TerritoryModel.objects.filter(pk=model_id).first()
    return plan is not None and plan_diff_refresh(plan=plan) is not None


@shared_task(name="territories.tasks.plan_diffs_sweep", acks_late=True, reject_on_worker_lost=True)
def plan_diffs_sweep() -> int:
    """Beat: queue the diffs a lost message or an unreachable broker left pending."""
    return len(plan_diffs_enqueue_pending())
