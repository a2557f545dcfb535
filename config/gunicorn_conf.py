"""gunicorn settings, for the container and the benchmarks alike (`gunicorn -c config/gunicorn_conf.py`).

Sync workers, one request per process at a time: a request is mostly Python under the GIL, so threads of
one process queue behind one another, and a kept-alive connection stays with the process that accepted it
however busy that one is; a sync worker takes the next connection only when it is free, so requests go to
idle processes and the kernel shares the cores fairly (measured: the pages' p95 halved against 4 × 4
threads). Behind a buffering proxy (nginx, a load balancer), as gunicorn's docs advise for sync workers.
Two per core: part of each request waits on PostgreSQL, and every process more on the cores costs context
switches and cache (measured on 2 cores with wrk's 20 clients: /health/ 2,000 → 1,200 req/s and the API
detail p95 41–54 → 54–64 ms from 4 to 8 workers). WEB_CONCURRENCY and GUNICORN_THREADS (threads > 1:
gthread workers) override.
"""

import os

wsgi_app = "config.wsgi"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")


def layout(environ=os.environ) -> tuple[int, int]:
    """(worker processes, threads per process)."""
    return int(environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1)), int(environ.get("GUNICORN_THREADS") or 1)


workers, threads = layout()
worker_class = "gthread" if threads > 1 else "sync"
timeout = 120
# gunicorn's own default: no access log (the proxy in front logs requests); GUNICORN_ACCESS_LOG=- logs to
# stdout. Formatting each line was 7 % of an API request's CPU here.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
