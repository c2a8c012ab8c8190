"""The audit layer: a ``JobRecord`` for every job enqueued through ``get_queue()``.

``AuditedQueue`` wraps an alias's backend (installed through ``QueueHandler.wrapper`` when the
alias has ``AUDIT`` on, the default). It sends jobs through the backend, then has their records
written; inserts ignore conflicts on (alias, job_id): a fast worker may have created the record
first, and its copy is the more current one. No record is written for a job Redis refused.

With ``AUDIT: True`` the records of jobs enqueued outside a transaction (and from async code) go
to the process's background writer, which inserts everything handed to it every few milliseconds
with one commit (``django_arq.audit.writer``; ``flush_records()`` waits for them): an enqueue
does not pay a database commit of its own. Inside a transaction the record is inserted at once,
in that transaction. With ``AUDIT: "immediate"`` every record is inserted in the enqueue call.

A record written inside a transaction that rolls back is gone while the job still runs; the
worker then creates the record. To send a job only once the surrounding transaction commits,
use ``enqueue_on_commit`` (``audit.on_commit``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial

from asgiref.sync import sync_to_async
from django.db import transaction

from ..queues.base import ArqQueue, QueueConfig
from ..queues.jobs import JobMetadata, JobSpec
from ..queues.wrapper import QueueWrapper
from .inserts import upsert_records
from .rows import describe_row, record_rows, records_db, safe_row, storable_id
from .salvage import table_answers, write_salvaging
from .writer import writer

__all__ = ["AuditedQueue", "audit_wrapper"]

#: How long an abort request waits for the background writer to write the records handed to it,
#: when the job's record is not there to note the request on.
WRITER_WAIT = 2.0


class AuditedQueue(QueueWrapper):
    """An ``ArqQueue`` that writes a ``JobRecord`` for every job it enqueues.

    Everything else goes to the wrapped backend, available as ``.backend`` (for what only that
    backend offers, such as ``MockArqQueue.run_queued``); the capabilities ``ArqQueue`` declares
    are the backend's.
    """

    def __init__(self, backend: ArqQueue, alias: str, *, immediate: bool = False) -> None:
        super().__init__(backend)
        self.alias = alias
        self.immediate = immediate

    def __repr__(self) -> str:
        return f"<AuditedQueue alias={self.alias!r} {self._backend!r}>"

    # -- enqueue: send, then the records -----------------------------------------------------

    async def enqueue_many(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        metadata = await self._backend.enqueue_many(jobs)
        if metadata and not self.immediate:
            writer.add(self.alias, metadata)  # async code runs outside transactions: no need to look
        elif metadata:
            await sync_to_async(self._insert)(metadata)
        return metadata

    def enqueue_many_sync(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        metadata = self._backend.enqueue_many_sync(jobs)
        if metadata:
            self._insert(metadata)
        return metadata

    def _insert(self, metadata: Sequence[JobMetadata]) -> None:
        """One bulk insert now, or by the background writer outside a transaction (unless immediate).

        Existing records (a fast worker wrote them first) are left as they are. Outside a
        transaction, a record the database refuses is set aside as the writer does; inside one,
        the error is the caller's (a refused statement ends a PostgreSQL transaction).
        """
        using = records_db()
        in_transaction = transaction.get_connection(using).in_atomic_block
        if not self.immediate and not in_transaction:
            writer.add(self.alias, metadata)
        elif in_transaction:
            upsert_records(using, record_rows(self.alias, metadata))
        else:
            rows = record_rows(self.alias, metadata)
            write = partial(upsert_records, using)
            write_salvaging(rows, write, safe_row, describe_row, partial(table_answers, using))

    # -- abort: ask the backend, then note the request on the record if it took it ---------

    def _mark_abort_requested(self, job_id: str, aborted: bool) -> int:
        """Note the time of an abort request the backend took: it ``aborted`` the job, or the
        request waits for a worker (then only on a record of an unfinished job)."""
        from ..models import JobRecord

        records = JobRecord.objects.using(records_db()).filter(
            alias=self.alias, job_id=storable_id(job_id), abort_requested_at__isnull=True
        )
        if not aborted:
            records = records.filter(finish_time__isnull=True)
        noted = records.update(abort_requested_at=datetime.now(UTC))
        if not noted and self._record_may_be_handed(job_id) and writer.flush(WRITER_WAIT):
            noted = records.update(abort_requested_at=datetime.now(UTC))
        return noted

    def _record_may_be_handed(self, job_id: str) -> bool:
        """Whether the job's record may be one the background writer has not written yet: it holds
        records, and the job has none (a flush inside a transaction would wait on its locks)."""
        from ..models import JobRecord

        using = records_db()
        return (
            bool(writer.pending())
            and not transaction.get_connection(using).in_atomic_block
            and not JobRecord.objects.using(using)
            .filter(alias=self.alias, job_id=storable_id(job_id))
            .exists()
        )

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        try:
            aborted = await self._backend.abort_job(job_id, queue_name, timeout=timeout)
        except TimeoutError:  # the request stays until a worker picks the job up
            await sync_to_async(self._mark_abort_requested)(job_id, False)
            raise
        except asyncio.CancelledError:
            # The caller stopped waiting (an HTTP client gone, a task cancelled): the request, made
            # in the first step, stays as after a timeout. Noted even if this cancel came again.
            await asyncio.shield(sync_to_async(self._mark_abort_requested)(job_id, False))
            raise
        if aborted:
            await sync_to_async(self._mark_abort_requested)(job_id, True)
        return aborted

    def abort_job_sync(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        try:
            aborted = self._backend.abort_job_sync(job_id, queue_name, timeout=timeout)
        except TimeoutError:
            self._mark_abort_requested(job_id, False)
            raise
        if aborted:
            self._mark_abort_requested(job_id, True)
        return aborted


def audit_wrapper(backend: ArqQueue, config: QueueConfig) -> ArqQueue:
    """``QueueHandler.wrapper``: wrap the backend of every alias with ``AUDIT`` on (True or "immediate")."""
    if not config.audit:
        return backend
    return AuditedQueue(backend, config.alias, immediate=config.audit == "immediate")
