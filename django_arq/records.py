"""The audit layer: a ``JobRecord`` for every job enqueued through ``get_queue()``.

``AuditedQueue`` wraps an alias's backend (installed through ``QueueHandler.wrapper`` when the
alias has ``AUDIT`` on, the default). It sends jobs through the backend, then has their records
written; inserts ignore conflicts on (alias, job_id): a fast worker may have created the record
first, and its copy is the more current one. No record is written for a job Redis refused.

With ``AUDIT: True`` the records of jobs enqueued outside a transaction (and from async code) go
to the process's background writer, which inserts everything handed to it every few milliseconds
with one commit (``django_arq.record_writer``; ``flush_records()`` waits for them): an enqueue
does not pay a database commit of its own. Inside a transaction the record is inserted at once,
in that transaction. With ``AUDIT: "immediate"`` every record is inserted in the enqueue call.

A record written inside a transaction that rolls back is gone while the job still runs; the
worker then creates the record. To send a job only once the surrounding transaction commits,
use ``enqueue_on_commit``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.db import router, transaction
from django.utils import timezone

from .handler import get_queue
from .payloads import json_text
from .queues.base import ArqQueue, QueueConfig
from .queues.jobs import JobMetadata, JobResult, JobSpec, Seconds, job_ids
from .record_writer import flush_records, writer
from .upsert import upsert_records

__all__ = [
    "AuditedQueue",
    "aenqueue_many_on_commit",
    "aenqueue_on_commit",
    "aflush_records",
    "audit_wrapper",
    "enqueue_many_on_commit",
    "enqueue_on_commit",
    "flush_records",
    "record_rows",
]

logger = logging.getLogger("django_arq.records")


def record_rows(alias: str, jobs: Sequence[JobMetadata]) -> list[dict[str, Any]]:
    """The JobRecord fields of freshly enqueued jobs, as ``upsert_records`` takes them."""
    return [
        {
            "job_id": m.id,
            "name": m.name,
            "args": json_text(m.args),
            "kwargs": json_text(dict(m.kwargs)),
            "enqueue_time": m.enqueue_time,
            "status": m.status.value,
            "queue_name": m.queue_name,
            "alias": alias,
        }
        for m in jobs
    ]


def records_db() -> str:
    """The database JobRecords are written to (``DATABASE_ROUTERS`` decide)."""
    from .models import JobRecord

    return router.db_for_write(JobRecord)


class AuditedQueue(ArqQueue):
    """An ``ArqQueue`` that writes a ``JobRecord`` for every job it enqueues.

    Everything else goes to the wrapped backend, available as ``.backend``; attributes this class
    does not define (``run_queued``, ``redis_settings``, ...) are read from the backend.
    """

    def __init__(self, backend: ArqQueue, alias: str, *, immediate: bool = False) -> None:
        super().__init__(default_queue_name=backend.default_queue_name, abort_timeout=backend.abort_timeout)
        self.backend = backend
        self.alias = alias
        self.immediate = immediate

    def __repr__(self) -> str:
        return f"<AuditedQueue alias={self.alias!r} {self.backend!r}>"

    def __getattr__(self, name: str) -> Any:
        if name == "backend":  # not set yet (unpickling, __init__ failing): avoid recursion
            raise AttributeError(name)
        return getattr(self.backend, name)

    @property
    def default_queue_name(self) -> str:
        return self.backend.default_queue_name

    # -- enqueue: send, then the records -----------------------------------------------------

    async def enqueue_many(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        metadata = await self.backend.enqueue_many(jobs)
        if metadata and not self.immediate:
            writer.add(self.alias, metadata)  # async code runs outside transactions: no need to look
        elif metadata:
            await sync_to_async(self._insert)(metadata)
        return metadata

    def enqueue_many_sync(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        metadata = self.backend.enqueue_many_sync(jobs)
        if metadata:
            self._insert(metadata)
        return metadata

    def _insert(self, metadata: Sequence[JobMetadata]) -> None:
        """One bulk insert now, or by the background writer outside a transaction (unless immediate)."""
        using = records_db()
        if not self.immediate and not transaction.get_connection(using).in_atomic_block:
            writer.add(self.alias, metadata)
        else:  # existing records (a fast worker wrote them first) are left as they are
            upsert_records(using, record_rows(self.alias, metadata))

    # -- abort: note the request on the record, then ask the backend -------------------------

    def _mark_abort_requested(self, job_id: str) -> int:
        from .models import JobRecord

        unfinished = JobRecord.objects.using(records_db()).filter(
            alias=self.alias, job_id=job_id, finish_time__isnull=True, abort_requested_at__isnull=True
        )
        return unfinished.update(abort_requested_at=timezone.now())

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        await sync_to_async(self._mark_abort_requested)(job_id)
        return await self.backend.abort_job(job_id, queue_name, timeout=timeout)

    def abort_job_sync(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        self._mark_abort_requested(job_id)
        return self.backend.abort_job_sync(job_id, queue_name, timeout=timeout)

    # -- the rest delegates ------------------------------------------------------------------

    async def get_job_metadata(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        return await self.backend.get_job_metadata(job_id, queue_name)

    async def get_job_result(self, job_id: str, queue_name: str | None = None) -> JobResult:
        return await self.backend.get_job_result(job_id, queue_name)

    def get_job_metadata_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        return self.backend.get_job_metadata_sync(job_id, queue_name)

    def get_job_result_sync(self, job_id: str, queue_name: str | None = None) -> JobResult:
        return self.backend.get_job_result_sync(job_id, queue_name)

    async def aclose(self) -> None:
        await self.backend.aclose()

    def close(self) -> None:
        self.backend.close()


def audit_wrapper(backend: ArqQueue, config: QueueConfig) -> ArqQueue:
    """``QueueHandler.wrapper``: wrap the backend of every alias with ``AUDIT`` on (True or "immediate")."""
    if not config.audit:
        return backend
    return AuditedQueue(backend, config.alias, immediate=config.audit == "immediate")


# -- transaction safety ------------------------------------------------------------------------


def enqueue_many_on_commit(
    jobs: Sequence[JobSpec], *, alias: str = "default", using: str | None = None
) -> list[str]:
    """Send ``jobs`` through ``get_queue(alias)`` once the current transaction of ``using`` commits.

    Returns the job ids at once (ids are chosen here when a spec has none). Nothing is sent if the
    transaction rolls back; outside a transaction the jobs are sent immediately.

    If Redis cannot take the jobs at commit time, the database changes stay committed, the error
    is logged (logger ``django_arq.records``, with the job ids) and re-raised from the block that
    committed (Django's ``on_commit`` behaviour), and no record is written for the unsent jobs.
    """
    ids = job_ids(jobs)
    specs = [spec if spec.job_id else replace(spec, job_id=i) for spec, i in zip(jobs, ids, strict=True)]

    def send() -> None:
        try:
            get_queue(alias).enqueue_many_sync(specs)
        except Exception:
            logger.exception("could not enqueue job(s) %s after commit (alias %r)", ", ".join(ids), alias)
            raise

    transaction.on_commit(send, using=using)
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
