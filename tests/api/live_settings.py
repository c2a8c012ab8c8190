"""Settings for child processes (uvicorn, ``manage.py`` commands) started by the tests.

The test settings, pointed at the database pytest-django created for this run (its name is in
``DJANGO_ARQ_LIVE_DB``), so that the parent test (``transaction=True``) and the child read and
write the same tables. ``ARQ_API_MAX_WAITERS``, ``DJANGO_ARQ_LIVE_ABORT_TIMEOUT`` and
``DJANGO_ARQ_LIVE_POOL=0`` (no connection pool) and ``DJANGO_ARQ_LIVE_QUEUE`` (the default alias's
default queue) may be set in the environment.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import ARQ_QUEUES, DATABASES

DATABASES["default"]["NAME"] = os.environ["DJANGO_ARQ_LIVE_DB"]
ARQ_API_TOKENS = [t for t in [os.environ.get("ARQ_TEST_API_TOKEN", "")] if t]
if "DJANGO_ARQ_LIVE_ABORT_TIMEOUT" in os.environ:  # aborts of jobs no worker runs answer quickly
    ARQ_QUEUES["default"]["ABORT_TIMEOUT"] = float(os.environ["DJANGO_ARQ_LIVE_ABORT_TIMEOUT"])
if "DJANGO_ARQ_LIVE_QUEUE" in os.environ:
    ARQ_QUEUES["default"]["DEFAULT_QUEUE_NAME"] = os.environ["DJANGO_ARQ_LIVE_QUEUE"]
if "ARQ_API_MAX_WAITERS" in os.environ:
    ARQ_API_MAX_WAITERS = int(os.environ["ARQ_API_MAX_WAITERS"])

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Under ASGI each request writes from its own thread; SQLite needs IMMEDIATE transactions (and
    # a busy timeout) so that concurrent writers wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
elif os.environ.get("DJANGO_ARQ_LIVE_POOL") != "0":
    # Under ASGI each request's ORM calls run in a thread of their own, each with its own
    # connection: 200 concurrent requests would exceed PostgreSQL's max_connections (100).
    # Django's connection pool (psycopg_pool) makes them wait for one of a bounded set instead.
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": 20, "timeout": 60}}
