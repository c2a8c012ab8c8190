"""A plain arq WorkerSettings running Django tasks: Django set up, ``worker_functions("tasks")``.

Used as ``python -m arq tests.tasks.worker_settings.WorkerSettings``; the arq queue comes from
``TASKS_TEST_QUEUE`` (default: the "tasks" alias's DEFAULT_QUEUE_NAME).
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.tasks.settings")
django.setup()

from django_arq import get_queue  # noqa: E402
from django_arq.tasks import worker_functions  # noqa: E402

_queue = get_queue("tasks")


class WorkerSettings:
    functions = worker_functions("tasks")
    redis_settings = _queue.redis_settings
    queue_name = os.environ.get("TASKS_TEST_QUEUE") or _queue.default_queue_name
    max_tries = 3
    poll_delay = 0.02
    keep_result = 3600
    allow_abort_jobs = True
    job_timeout = 30
