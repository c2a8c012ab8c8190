"""django-tasks-db 0.13 on Django 6.1's ``django.tasks`` (var/bench-venvs/tasks-db: Python 3.13).

A DBTaskResult row is written at enqueue (``task.enqueue()``) and updated by the worker, on
PostgreSQL or SQLite (WAL), as bench_peers.py chooses with BENCH_DB. The worker is
``manage.py db_worker`` with its defaults (it polls the table every second when idle).
"""

from __future__ import annotations

import common
from django.tasks import task

SETTINGS = common.setup(
    common.django_settings(
        ["django_tasks_db"], TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    )
)


@task
def noop() -> None:
    return None


@task
def started(token: str) -> None:
    common.mark(token)


@task
def insert(value: int) -> None:
    common.insert_row(value)


def reset() -> None:
    from django_tasks_db.models import DBTaskResult

    common.truncate(DBTaskResult)


def enqueue_noop() -> None:
    noop.enqueue()


def enqueue_started(token: str) -> None:
    started.enqueue(token)


def enqueue_insert(value: int) -> None:
    insert.enqueue(value)


def count_done() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.successful().count()


def run_worker(args: list[str]) -> None:
    from django.core.management import call_command

    call_command("db_worker", *args)
