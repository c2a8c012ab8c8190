"""django-arq (this repository): records on (AUDIT True, the default), the worker is ``manage.py arq_worker``.

Runs in the project's own .venv (Python 3.11, Django 5.2). Enqueues through the public sync API,
``get_queue().enqueue_sync(name)``; records outside a transaction go to the background writer,
whose flush is inside the timed enqueue loop.
"""

from __future__ import annotations

from typing import Any

import common

SETTINGS = common.setup(
    common.django_settings(
        ["django_arq"],
        ARQ_QUEUES={
            "default": {
                "BACKEND": "django_arq.RedisArqQueue",
                "REDIS_URL": common.REDIS_URL,
                "WORKER": {
                    "FUNCTIONS": [
                        "django_arq_peer.noop",
                        "django_arq_peer.started",
                        "django_arq_peer.insert",
                    ]
                },
            }
        },
    )
)


async def noop(ctx: dict[str, Any]) -> None:
    return None


async def started(ctx: dict[str, Any], token: str) -> None:
    await common.amark(ctx["redis"], token)


async def insert(ctx: dict[str, Any], value: int) -> None:
    await common.ainsert_row(value)


def reset() -> None:
    from django_arq.models import JobRecord

    common.truncate(JobRecord)


def enqueue_noop() -> None:
    from django_arq import get_queue

    get_queue().enqueue_sync("django_arq_peer.noop")


def enqueue_started(token: str) -> None:
    from django_arq import get_queue

    get_queue().enqueue_sync("django_arq_peer.started", token)


def enqueue_insert(value: int) -> None:
    from django_arq import get_queue

    get_queue().enqueue_sync("django_arq_peer.insert", value)


def flush() -> None:
    from django_arq import flush_records

    assert flush_records(60), "records not written within 60 s"


def count_done() -> int:
    from django_arq.models import JobRecord

    return JobRecord.objects.filter(status="complete", success=True).count()


def run_worker(args: list[str]) -> None:
    from django.core.management import call_command

    call_command("arq_worker", *args)
