import pytest

from core.tasks import ping

pytestmark = pytest.mark.worker


def test_it_round_trips_a_task_through_redis_and_a_real_worker(celery_worker_process):
    result = ping.delay("hello")
    assert result.get(timeout=30) == "hello"
    assert celery_worker_process.poll() is None
