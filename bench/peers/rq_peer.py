"""django-rq 4.2 on rq 3.0 (var/bench-venvs/rq: Python 3.11, Django 5.2; requirements-rq.txt).

Enqueues with ``django_rq.enqueue(fn)``, the documented call; results stay in Redis (rq's default
result_ttl). The worker is ``manage.py rqworker`` with ``--worker-class`` rq.worker.SimpleWorker
(jobs run in the worker process) or rq.worker.Worker (rq's default: a fork per job).
"""

from __future__ import annotations

import common

SETTINGS = common.setup(
    common.django_settings(["django_rq"], RQ_QUEUES={"default": {"URL": common.REDIS_URL}})
)


def noop() -> None:
    return None


def started(token: str) -> None:
    common.mark(token)


def insert(value: int) -> None:
    common.insert_row(value)


def reset() -> None:
    return None  # results live in Redis, which bench_peers.py flushes


def enqueue_noop() -> None:
    import django_rq

    django_rq.enqueue(noop)


def enqueue_started(token: str) -> None:
    import django_rq

    django_rq.enqueue(started, token)


def enqueue_insert(value: int) -> None:
    import django_rq

    django_rq.enqueue(insert, value)


def count_done() -> int:
    import django_rq

    return django_rq.get_queue().finished_job_registry.count


def run_worker(args: list[str]) -> None:
    from django.core.management import call_command

    call_command("rqworker", "default", worker_class=f"rq.worker.{args[0]}")
