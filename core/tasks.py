from celery import shared_task


@shared_task(name="core.tasks.ping", ignore_result=False, acks_late=True)
def ping(value: str = "pong") -> str:
    """A round trip through the broker, used by health checks and the worker tests."""
    return value


@shared_task(name="core.tasks.data_changes_prune", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def data_changes_prune_task() -> int:
    """Keeps the change log behind the cached figures' version small (beat)."""
    from core.data_version import data_changes_prune

    return data_changes_prune()
