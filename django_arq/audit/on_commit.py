"""Enqueue once the surrounding transaction commits: nothing is sent if it rolls back."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction

from ..handler import get_queue
from ..queues.describe import safe_str
from ..queues.jobs import JobSpec, Seconds, job_ids
from .writer import flush_records

__all__ = [
    "aenqueue_many_on_commit",
    "aenqueue_on_commit",
    "aflush_records",
    "enqueue_many_on_commit",
    "enqueue_on_commit",
]

logger = logging.getLogger("django_arq.records")


def enqueue_many_on_commit(
    jobs: Sequence[JobSpec], *, alias: str = "default", using: str | None = None
) -> list[str]:
    """Send ``jobs`` through ``get_queue(alias)`` once the current transaction of ``using`` commits.

    Returns the job ids at once (ids are chosen here when a spec has none). Nothing is sent if the
    transaction rolls back; outside a transaction the jobs are sent immediately.

    If Redis cannot take the jobs at commit time, the database changes stay committed, the error
    is logged with the job ids (logger ``django_arq.records``; Django's ``django.db.backends``
    logs its traceback), no record is written for the unsent jobs, and the transaction's other
    on-commit callbacks still run: one failed send does not lose the jobs sent after it.
    """
    ids = job_ids(jobs)
    specs = [spec if spec.job_id else replace(spec, job_id=i) for spec, i in zip(jobs, ids, strict=True)]
    queue = get_queue(alias)
    if not transaction.get_connection(using).in_atomic_block:
        queue.enqueue_many_sync(specs)  # no transaction to wait for: errors reach the caller
        return ids

    def send() -> None:
        try:
            queue.enqueue_many_sync(specs)
        except Exception as exc:
            failed = ", ".join(ids)
            logger.error(
                "could not enqueue job(s) %s after commit (alias %r): %s", failed, alias, safe_str(exc)
            )
            raise  # to Django, which logs it and goes on with the transaction's other callbacks

    transaction.on_commit(send, using=using, robust=True)
    return ids


def enqueue_on_commit(
    task_name: str,
    *task_args: Any,
    _alias: str = "default",
    _using: str | None = None,
    _queue_name: str | None = None,
    _job_id: str | None = None,
    _defer_until: datetime | None = None,
    _defer_by: Seconds | None = None,
    _expires: Seconds | None = None,
    **task_kwargs: Any,
) -> str:
    """``enqueue`` deferred to the commit of the current transaction; returns the job id.

    Same arguments as ``ArqQueue.enqueue``, plus ``_alias`` (the ``ARQ_QUEUES`` alias) and
    ``_using`` (the database whose transaction counts). See ``enqueue_many_on_commit``.
    """
    spec = JobSpec(task_name, task_args, task_kwargs, _queue_name, _job_id, _defer_until, _defer_by, _expires)
    (job_id,) = enqueue_many_on_commit([spec], alias=_alias, using=_using)
    return job_id


#: Async forms, for async views: they register the callback in the thread where Django's
#: ``sync_to_async`` runs ORM code, so it joins a transaction opened there.
aenqueue_on_commit: Callable[..., Any] = sync_to_async(enqueue_on_commit)
aenqueue_many_on_commit: Callable[..., Any] = sync_to_async(enqueue_many_on_commit)

#: ``flush_records`` for async code (waits in a thread of its own, not in Django's sync thread).
aflush_records: Callable[..., Awaitable[bool]] = sync_to_async(flush_records, thread_sensitive=False)
