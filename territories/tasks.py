from celery import shared_task

from territories.models import AssignmentRun
from territories.services import assignment_run_execute


@shared_task(name="territories.tasks.assignment_run_task", acks_late=True, reject_on_worker_lost=True)
def assignment_run_task(run_id: int) -> str:
    """Run a queued assignment. A redelivered message finds the run finished and does nothing."""
    run = AssignmentRun.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    return assignment_run_execute(run=run).status
