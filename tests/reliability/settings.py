"""Settings for the worker processes the reliability tests start: the worker tests' settings, plus
the jobs below and a ``"json"`` alias (``SERIALIZER: "json"``) on the same Redis.

The Redis URL comes from ``DJANGO_ARQ_TEST_REDIS`` (read by tests.settings), so a worker can be
pointed at a throwaway Redis server; the database from ``DJANGO_ARQ_WORKER_DB_NAME``.
"""

from tests.worker.settings import *  # noqa: F403
from tests.worker.settings import ARQ_QUEUES, DATABASES

_functions = [
    *ARQ_QUEUES["default"]["WORKER"]["FUNCTIONS"],  # type: ignore[index]
    "tests.reliability.jobs.count_run",
    "tests.reliability.jobs.slow_count",
    "tests.reliability.jobs.slow_group",
]
ARQ_QUEUES["default"]["WORKER"]["FUNCTIONS"] = _functions  # type: ignore[index]
ARQ_QUEUES["json"] = {
    **ARQ_QUEUES["default"],
    "SERIALIZER": "json",
    "DEFAULT_QUEUE_NAME": "django-arq-tests:json",
    "WORKER": {**ARQ_QUEUES["default"]["WORKER"], "FUNCTIONS": _functions},  # type: ignore[dict-item]
}

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # several processes write records: wait for SQLite's lock instead of failing at once
    DATABASES["default"]["OPTIONS"] = {"timeout": 30}
