from celery import shared_task


@shared_task(name="core.tasks.ping", ignore_result=False, acks_late=True)
def ping(value: str = "pong") -> str:
    """A round trip through the broker, used by health checks and the worker tests."""
    return value
