"""Settings of the django-arq worker process bench_start.py starts: tests.settings, its Redis and queue."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import ARQ_QUEUES, DATABASES

ARQ_QUEUES["default"] = {
    **ARQ_QUEUES["default"],
    "REDIS_URL": os.environ["BENCH_REDIS_URL"],
    "DEFAULT_QUEUE_NAME": os.environ["BENCH_QUEUE"],
    "WORKER": {"FUNCTIONS": ["bench_jobs.noop", "bench_jobs.started_at"]},
}
DEBUG = False
DATABASES["default"]["NAME"] = os.environ["BENCH_DB_NAME"]  # the benchmark's migrated database
