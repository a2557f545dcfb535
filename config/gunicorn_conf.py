"""gunicorn settings, for the container and the benchmarks alike (`gunicorn -c config/gunicorn_conf.py`).

Sync workers, one request per process at a time: a request is mostly Python under the GIL, so threads of
one process queue behind one another, and a kept-alive connection stays with the process that accepted it
however busy that one is; a sync worker takes the next connection only when it is free, so requests go to
idle processes and the kernel shares the cores fairly (measured: the pages' p95 halved against 4 × 4
threads). Behind a buffering proxy (nginx, a load balancer), as gunicorn's docs advise for sync workers.
Four per core, because part of each request waits on PostgreSQL. WEB_CONCURRENCY and GUNICORN_THREADS
(threads > 1: gthread workers) override.
"""

import os

wsgi_app = "config.wsgi"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")


def layout(environ=os.environ) -> tuple[int, int]:
    """(worker processes, threads per process)."""
    return int(environ.get("WEB_CONCURRENCY") or 4 * (os.cpu_count() or 1)), int(environ.get("GUNICORN_THREADS") or 1)


workers, threads = layout()
worker_class = "gthread" if threads > 1 else "sync"
timeout = 120
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
