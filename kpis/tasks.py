"""Thin Celery tasks over kpis.services. All are idempotent: a redelivery recomputes the same rows."""

from celery import shared_task

from kpis import services

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "max_retries": 3, "default_retry_delay": 10}
DIRTY_SWEEP_AFTER_SECONDS = 120


@shared_task(name="kpis.tasks.recompute_all", bind=True, **TASK_OPTIONS)
def recompute_all(self, view: str | None = None) -> dict:
    """Full recompute of one view or both, recorded as a RecomputeRun."""
    run = services.recompute_run_create(view=(view or "").replace("-", "_"))
    run.task_id = self.request.id or ""
    run.save(update_fields=["task_id"])
    try:
        services.recompute_run_execute(run=run)
    except services.UnknownView:
        raise
    except Exception as error:
        raise self.retry(exc=error)
    return run.counts


@shared_task(name="kpis.tasks.recompute_territories", bind=True, **TASK_OPTIONS)
def recompute_territories(self, territory_ids: list[int]) -> dict:
    try:
        return services.rollups_recompute(territory_ids=territory_ids).as_counts()
    except Exception as error:
        raise self.retry(exc=error)


@shared_task(name="kpis.tasks.flush_dirty_rollups", bind=True, **TASK_OPTIONS)
def flush_dirty_rollups(self) -> dict:
    """Recompute every dirty territory at once; enqueued on commit by services.rollups_mark_dirty."""
    try:
        return services.rollups_flush_dirty().as_counts()
    except Exception as error:
        raise self.retry(exc=error)


@shared_task(name="kpis.tasks.sweep_dirty_rollups", **TASK_OPTIONS)
def sweep_dirty_rollups() -> bool:
    """Beat: re-enqueue a flush for dirty rows a lost or failed message left behind."""
    if services.rollups_dirty_stale_exist(older_than_seconds=DIRTY_SWEEP_AFTER_SECONDS):
        flush_dirty_rollups.delay()
        return True
    return False


@shared_task(name="kpis.tasks.recompute_run_task", **TASK_OPTIONS)
def recompute_run_task(run_id: int) -> str:
    """Execute a run recorded by services.recompute_run_start. A redelivered message finds the run
    finished and does nothing; a run a lost worker left running is recomputed again (idempotent)."""
    from kpis.models import RecomputeRun
    from territories.choices import RunStatus

    run = RecomputeRun.objects.filter(pk=run_id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()
    if run is None:
        return "missing or finished"
    return services.recompute_run_execute(run=run).status
