"""Settings for the django.tasks tests (Django 6+): the shared test settings plus TASKS on arq.

Tasks go through their own ARQ_QUEUES aliases and arq queues, so that the plain arq workers of
the core tests (which share the Redis database) never pick up a Django task.
"""

import os

from tests.settings import *  # noqa: F403
from tests.settings import ARQ_QUEUES as BASE_QUEUES
from tests.settings import DATABASES, REDIS_URL

# Worker processes use the test process's database (pytest-django's test database) when told.
if os.environ.get("DJANGO_ARQ_WORKER_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["DJANGO_ARQ_WORKER_DB_NAME"]

TASKS_QUEUE = "django-arq-tests:tasks"
TASKS_AUDIT_QUEUE = "django-arq-tests:tasks-audit"
TASKS_JSON_QUEUE = "django-arq-tests:tasks-json"
# `manage.py arq_worker --alias tasks` adds Django tasks to these (no FUNCTIONS needed).
TEST_WORKER = {"MAX_TRIES": 3, "POLL_DELAY": 0.02, "JOB_TIMEOUT": 30, "RECORD_FLUSH_INTERVAL": 0.05}

ARQ_QUEUES = {
    **BASE_QUEUES,
    # AUDIT off: most task tests need no database.
    "tasks": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": REDIS_URL,
        "DEFAULT_QUEUE_NAME": TASKS_QUEUE,
        "AUDIT": False,
        "WORKER": TEST_WORKER,
    },
    # The same Redis, with JobRecords, on a queue of its own.
    "tasks_audit": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": REDIS_URL,
        "DEFAULT_QUEUE_NAME": TASKS_AUDIT_QUEUE,
        "WORKER": TEST_WORKER,
    },
    # Payloads and results as JSON (exceptions keep only their class and message).
    "tasks_json": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": REDIS_URL,
        "DEFAULT_QUEUE_NAME": TASKS_JSON_QUEUE,
        "SERIALIZER": "json",
        "AUDIT": False,
        "WORKER": TEST_WORKER,
    },
}

TASKS = {
    "default": {
        "BACKEND": "django_arq.tasks.ArqBackend",
        "QUEUES": ["default", "other"],
        "OPTIONS": {
            "ALIAS": "tasks",
            "TASKS": {  # per-task options; the worker's MAX_TRIES is 3
                "tests.tasks.sample_tasks.unsteady": {
                    "RETRY_ON": ["builtins.ConnectionError"],
                    "MAX_TRIES": 4,
                    "BACKOFF": {"BASE": 0.1, "MAX": 0.2, "JITTER": 0},
                },
                "tests.tasks.sample_tasks.too_slow": {"TIMEOUT": 0.3},
            },
        },
    },
    "audited": {
        "BACKEND": "django_arq.tasks.ArqBackend",
        "QUEUES": ["default"],
        "OPTIONS": {"ALIAS": "tasks_audit"},
    },
    "json": {
        "BACKEND": "django_arq.tasks.ArqBackend",
        "QUEUES": ["default"],
        "OPTIONS": {"ALIAS": "tasks_json"},
    },
    "immediate": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": []},
}
