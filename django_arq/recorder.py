"""The worker side of the audit layer: JobRecord updates, buffered and written in batches.

The worker reports events (a job started, ended, was retried, failed before it could start) to a
``JobRecorder``; the recorder merges them per job in memory, and one background task writes them
with bulk upserts on (alias, job_id) every ``flush_interval`` seconds or ``batch_size`` jobs, in
one transaction, from a dedicated thread that owns its database connection. Records missing in
the database (a job sent by a plain arq client) are created from what the worker knows.

If the database cannot be written, the updates stay in memory and are retried with a backoff;
a last flush runs when the worker shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arq.jobs import JobStatus, deserialize_result
from django.db import connections, transaction
from django.utils import timezone

from .payloads import jsonable
from .queues.jobs import is_abort_result
from .upsert import upsert_records

__all__ = ["ABORTED", "JobRecorder"]

logger = logging.getLogger("django_arq.recorder")

#: The ``error`` text of a record whose job was aborted.
ABORTED = "aborted"
#: Fields a new record needs besides the status fields (an upsert inserts them, never updates them).
CREATE_FIELDS = ("name", "args", "kwargs", "enqueue_time", "queue_name")
MAX_BACKOFF = 30.0


@dataclass
class Pending:
    """What the recorder will write for one job: fields to insert, and which of them to update."""

    values: dict[str, Any] = field(default_factory=dict)
    update: set[str] = field(default_factory=set)

    def merge(self, values: Mapping[str, Any], update: Mapping[str, Any]) -> None:
        """Add an event: creation values fill gaps, status values replace earlier ones."""
        for key, value in values.items():
            self.values.setdefault(key, value)
        self.values.update(update)
        self.update.update(update)

    def updates(self) -> dict[str, Any]:
        return {key: self.values[key] for key in self.update}

    def complete(self) -> bool:
        return all(key in self.values for key in CREATE_FIELDS)


def error_text(exc: BaseException, with_traceback: bool = True) -> str:
    """The traceback of an exception raised by a job, or its ``repr`` if it has none."""
    if with_traceback and exc.__traceback__ is not None:
        return "".join(traceback.format_exception(exc)).strip()
    return repr(exc)


class JobRecorder:
    """Keeps the JobRecords of one worker's alias current, writing them in batches."""

    def __init__(
        self,
        alias: str,
        queue_name: str,
        *,
        flush_interval: float = 0.2,
        batch_size: int = 500,
        deserializer: Any = None,
        using: str = "default",
    ) -> None:
        self.alias = alias
        self.queue_name = queue_name
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.deserializer = deserializer
        self.using = using
        self._pending: dict[str, Pending] = {}
        self._running: dict[str, dict[str, Any]] = {}  # job id -> creation values, while it runs
        self._outcomes: dict[str, tuple[bool, Any, str]] = {}  # job id -> (success, result, error)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-arq-recorder")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._stopping = False
        self.written = 0

    # -- events, called on the worker's event loop; no I/O ------------------------------------

    def _add(self, job_id: str, values: Mapping[str, Any], update: Mapping[str, Any]) -> None:
        pending = self._pending.get(job_id)
        if pending is None:
            pending = self._pending[job_id] = Pending()
        pending.merge(values, update)
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    def job_started(self, ctx: Mapping[str, Any], name: str, args: Any, kwargs: Any) -> None:
        """A job function is about to run (arq's ``ctx`` gives the id and the try)."""
        job_id = ctx["job_id"]
        values = {
            "name": name,
            "args": jsonable(list(args)),
            "kwargs": jsonable(dict(kwargs)),
            "enqueue_time": ctx["enqueue_time"],
            "queue_name": self.queue_name,
        }
        self._running[job_id] = values
        update = {
            "status": JobStatus.in_progress.value,
            "start_time": timezone.now(),
            "job_try": ctx["job_try"],
        }
        self._add(job_id, values, update)

    def job_returned(self, job_id: str, result: Any) -> None:
        self._outcomes[job_id] = (True, result, "")

    def job_raised(self, job_id: str, exc: BaseException, aborted: bool) -> None:
        """The job function raised ``exc``; ``aborted`` if the worker cancelled it on request."""
        if aborted:
            self._outcomes[job_id] = (False, exc, ABORTED)
        elif isinstance(exc, asyncio.CancelledError):  # a timeout or a shutdown; arq decides which
            self._outcomes[job_id] = (False, exc, "")
        else:
            self._outcomes[job_id] = (False, exc, error_text(exc))

    def job_ended(
        self,
        job_id: str,
        finished: bool,
        deferred: bool,
        timeout_s: float | None = None,
        result_data: bytes | None = None,
    ) -> None:
        """arq stored the job's end: ``finished``, or put back in the queue to run again."""
        values = self._running.pop(job_id, {})
        outcome = self._outcomes.pop(job_id, None)
        if outcome is None:  # cancelled before the function began: arq's stored result says how it ended
            result = self._read(job_id, result_data)
            outcome = (False, None, "") if result is None else self._outcome(result.success, result.result)
        success, result, error = outcome
        if not finished:
            status = JobStatus.deferred if deferred else JobStatus.queued
            self._add(job_id, values, {"status": status.value, "error": error or repr(result)})
            return
        if isinstance(result, asyncio.CancelledError) and error != ABORTED:
            result = TimeoutError(f"job timed out after {timeout_s}s" if timeout_s else "job timed out")
            error = repr(result)
        update = {
            "status": JobStatus.complete.value,
            "finish_time": timezone.now(),
            "success": success,
            "result": jsonable(result),
            "error": error,
        }
        self._add(job_id, values, update)

    def job_failed_early(self, job_id: str, result_data: bytes | None) -> None:
        """arq ended a job without running it: aborted before start, unknown function, too many tries."""
        self._running.pop(job_id, None)
        self._outcomes.pop(job_id, None)
        update: dict[str, Any] = {"status": JobStatus.complete.value, "success": False}
        values: dict[str, Any] = {}
        r = self._read(job_id, result_data)
        if r is not None:
            values = {
                "name": r.function,
                "args": jsonable(list(r.args)),
                "kwargs": jsonable(dict(r.kwargs)),
                "enqueue_time": r.enqueue_time,
                "queue_name": r.queue_name,
            }
            _, result, error = self._outcome(r.success, r.result)
            update.update(result=jsonable(result), error=error, finish_time=r.finish_time, job_try=r.job_try)
        update.setdefault("finish_time", datetime.now(UTC))
        update.setdefault("error", "ended by the worker before it started")
        self._add(job_id, values, update)

    def _read(self, job_id: str, result_data: bytes | None) -> Any:
        if result_data is None:
            return None
        try:
            return deserialize_result(result_data, deserializer=self.deserializer)
        except Exception:  # the record then says only that it failed
            logger.warning("cannot read the result of job %s", job_id, exc_info=True)
            return None

    @staticmethod
    def _outcome(success: bool, result: Any) -> tuple[bool, Any, str]:
        if success:
            return True, result, ""
        return False, result, ABORTED if is_abort_result(success, result) else repr(result)

    # -- writing ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background flush task on the running loop."""
        self._task = asyncio.create_task(self._run(), name="django-arq-recorder")

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._delay())
            self._wake.clear()
            await self.flush()

    def _delay(self) -> float:
        if self._failures:
            return min(MAX_BACKOFF, self.flush_interval * 2**self._failures)
        return self.flush_interval

    async def flush(self) -> bool:
        """Write everything buffered; on a database error keep it for the next try. True if written."""
        if not self._pending:
            return True
        batch, self._pending = self._pending, {}
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._write, batch)
        except Exception as exc:  # any database error: keep the updates, retry later
            self._failures += 1
            for job_id, pending in self._pending.items():  # newer events go on top of the failed batch
                batch.setdefault(job_id, Pending()).merge(
                    pending.values, {k: pending.values[k] for k in pending.update}
                )
            self._pending = batch
            logger.warning(
                "could not write %d job record(s), retrying in %.1fs: %s", len(batch), self._delay(), exc
            )
            return False
        self._failures = 0
        self.written += len(batch)
        return True

    def _write(self, batch: dict[str, Pending]) -> None:
        """Runs in the recorder's thread: upserts grouped by the fields they update, one transaction."""
        from .models import JobRecord

        # This thread keeps one connection for as long as it works (CONN_MAX_AGE is about requests);
        # a failed write closes it, and the retry opens a new one.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        partial: list[tuple[str, dict[str, Any]]] = []
        for job_id, pending in batch.items():
            if not pending.complete():  # nothing to create a record from: update it if it exists
                partial.append((job_id, pending.updates()))
                continue
            row = {**pending.values, "job_id": job_id, "alias": self.alias}
            groups.setdefault(tuple(sorted(pending.update)), []).append(row)
        try:
            with transaction.atomic(using=self.using):
                for fields, rows in groups.items():
                    upsert_records(self.using, rows, fields)
                records = JobRecord.objects.using(self.using)
                for job_id, update in partial:
                    records.filter(alias=self.alias, job_id=job_id).update(
                        **update, updated_at=timezone.now()
                    )
        except Exception:
            connections[self.using].close()  # start the next try on a fresh connection
            raise

    def _close_connection(self) -> None:
        connections[self.using].close()

    async def close(self) -> None:
        """Stop the background task and write what is left (a few tries if the database is down)."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        deadline = time.monotonic() + 5
        while not await self.flush() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        if self._pending:
            logger.error(
                "%d job record update(s) not written; `manage.py arq_reconcile` restores them from Redis",
                len(self._pending),
            )
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=True)
