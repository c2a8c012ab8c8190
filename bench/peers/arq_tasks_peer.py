"""django-arq's ``ArqBackend`` for ``django.tasks`` (Django 6.1, var/bench-venvs/django6, Python 3.13).

This tree's django_arq (on PYTHONPATH), records on; ``@task`` functions enqueued with
``task.enqueue()``, run by ``manage.py arq_worker`` at its defaults, on PostgreSQL or SQLite (WAL)
as bench_peers.py chooses: the like-for-like peer of django-tasks-db. The tasks are plain ``def``
functions, as django-tasks-db's are (ArqBackend runs them in a thread).
"""

from __future__ import annotations

import common
from django.tasks import task

SETTINGS = common.setup(
    common.django_settings(
        ["django_arq"],
        ARQ_QUEUES={"default": {"BACKEND": "django_arq.RedisArqQueue", "REDIS_URL": common.REDIS_URL}},
        TASKS={"default": {"BACKEND": "django_arq.tasks.ArqBackend"}},
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
    from django_arq.models import JobRecord

    common.truncate(JobRecord)


def enqueue_noop() -> None:
    noop.enqueue()


def enqueue_started(token: str) -> None:
    started.enqueue(token)


def enqueue_insert(value: int) -> None:
    insert.enqueue(value)


def flush() -> None:
    from django_arq import flush_records

    assert flush_records(60), "records not written within 60 s"


def count_done() -> int:
    from django_arq.models import JobRecord

    return JobRecord.objects.filter(status="complete", success=True).count()


def run_worker(args: list[str]) -> None:
    from django.core.management import call_command

    call_command("arq_worker", *args)
