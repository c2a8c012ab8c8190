"""A plain arq WorkerSettings (no Django) for the core tests: queue and Redis from the environment."""

import os

from arq import func
from arq.connections import RedisSettings

from tests import jobs

FUNCTIONS = [jobs.add, jobs.sleep_for, jobs.fail, jobs.echo, jobs.report, jobs.unserializable]


class WorkerSettings:
    functions = [func(f, name=f"tests.jobs.{f.__name__}") for f in FUNCTIONS]
    redis_settings = RedisSettings.from_dsn(os.environ["ARQ_TEST_REDIS_URL"])
    queue_name = os.environ["ARQ_TEST_QUEUE"]
    allow_abort_jobs = True
    poll_delay = 0.02
    max_jobs = 20
    keep_result = 3600
    health_check_interval = 5
