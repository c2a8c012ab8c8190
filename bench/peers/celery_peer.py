"""Celery 5.7 with django-celery-results 2.6 (var/bench-venvs/celery: Python 3.11, Django 5.2).

Broker: Redis; results: ``CELERY_RESULT_BACKEND = "django-db"`` (a TaskResult row per task,
written by the worker). Enqueues with ``task.delay()``. The worker is ``celery worker`` with the
pool given as worker arguments (``-P solo``: one task at a time, in the worker process; or
``-P prefork -c 2``), otherwise Celery's defaults.
"""

from __future__ import annotations

import common
from celery import Celery

SETTINGS = common.setup(
    common.django_settings(
        ["django_celery_results"],
        CELERY_BROKER_URL=common.REDIS_URL,
        CELERY_RESULT_BACKEND="django-db",
    )
)
app = Celery("celery_peer")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task
def noop() -> None:
    return None


@app.task
def started(token: str) -> None:
    common.mark(token)


@app.task
def insert(value: int) -> None:
    common.insert_row(value)


def reset() -> None:
    from django_celery_results.models import TaskResult

    common.truncate(TaskResult)


def enqueue_noop() -> None:
    noop.delay()


def enqueue_started(token: str) -> None:
    started.delay(token)


def enqueue_insert(value: int) -> None:
    insert.delay(value)


def count_done() -> int:
    from django_celery_results.models import TaskResult

    return TaskResult.objects.filter(status="SUCCESS").count()


def run_worker(args: list[str]) -> None:
    app.worker_main(["worker", "--loglevel", "WARNING", *args])
