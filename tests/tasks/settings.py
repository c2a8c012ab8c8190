"""Settings for the django.tasks tests (Django 6+): the shared test settings plus TASKS on arq.

Tasks go through their own ARQ_QUEUES aliases and arq queues, so that the plain arq workers of
the core tests (which share the Redis database) never pick up a Django task.
"""

from tests.settings import *  # noqa: F403
from tests.settings import ARQ_QUEUES as BASE_QUEUES
from tests.settings import REDIS_URL

TASKS_QUEUE = "django-arq-tests:tasks"

ARQ_QUEUES = {
    **BASE_QUEUES,
    # AUDIT off: most task tests need no database.
    "tasks": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": REDIS_URL,
        "DEFAULT_QUEUE_NAME": TASKS_QUEUE,
        "AUDIT": False,
    },
    # The same Redis and queues, with JobRecords.
    "tasks_audit": {
        "BACKEND": "django_arq.RedisArqQueue",
        "REDIS_URL": REDIS_URL,
        "DEFAULT_QUEUE_NAME": TASKS_QUEUE,
    },
}

TASKS = {
    "default": {
        "BACKEND": "django_arq.tasks.ArqBackend",
        "QUEUES": ["default", "other"],
        "OPTIONS": {"ALIAS": "tasks"},
    },
    "audited": {
        "BACKEND": "django_arq.tasks.ArqBackend",
        "QUEUES": ["default"],
        "OPTIONS": {"ALIAS": "tasks_audit"},
    },
    "immediate": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": []},
}
