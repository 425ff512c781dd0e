"""Production server settings: ``gunicorn -c gunicorn.conf.py config.wsgi``.

Threaded workers: checkout requests mostly wait on the API, so each worker keeps a few
threads, while ``CPU_SLOTS`` (settings) lets only two of them work at once. More threads
serve more simultaneous checkouts but lengthen the slowest catalog responses under load
(bench/README.md has the figures for 4 and 8).
"""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
backlog = 256
