"""The worker side of the audit layer: JobRecord updates, buffered and written in batches.

The worker reports events (a job started, ended, was retried, failed before it could start) to a
``JobRecorder``; the recorder merges them per job in memory, and one background task writes them
every ``flush_interval`` seconds or ``batch_size`` jobs, from a dedicated thread that owns its
database connection: one transaction for a bulk update of the status fields of the records that
exist, then an insert creating those missing (a job sent by a plain arq client) from what the
worker knows, and the same update of what it created (a record someone created meanwhile is
updated, never overwritten).

If the database is unavailable, the updates stay in memory and are retried with a backoff; a
job whose record the database refuses is set aside without holding up the others
(``audit.salvage``); a last flush runs when the worker shuts down. Values are made storable as
the enqueue side makes them (``audit.rows``), job ids included, so both find the same record.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple

from arq.jobs import JobStatus
from django.db import connections, transaction

from ..fields import storable_time
from ..models import ABORTED, JobRecord
from ..queues.arq_internals import UNSERIALIZABLE_RESULT, deserialize_result
from ..queues.describe import class_path, safe_repr, safe_str
from ..queues.heartbeats import LostJob
from ..queues.jobs import JobProgress, is_abort_result
from ..queues.progress import progress_to_json
from ..queues.timeouts import timeout_error
from .inserts import upsert_records
from .lost import record_lost_jobs
from .migrated import not_migrated
from .payloads import json_text
from .rows import safe_row, storable_fields, storable_id
from .salvage import table_answers, write_salvaging
from .tries import merged_try_errors, next_try_at, try_error
from .updates import TryOf, update_records
from .writer import MAX_PENDING

__all__ = ["JobRecorder"]

logger = logging.getLogger("django_arq.recorder")

IN_PROGRESS, COMPLETE = JobStatus.in_progress.value, JobStatus.complete.value
MAX_BACKOFF = 30.0
UNSERIALIZABLE = UNSERIALIZABLE_RESULT
_UNSERIALIZABLE = UNSERIALIZABLE.encode()

#: One job's write: its record's job id, status fields, and what to create it from (or None); the
#: creation values are made a row only for a missing record (rare: most records exist).
Item = tuple[str, dict[str, Any], "Creation | dict[str, Any] | None"]


class Creation(NamedTuple):
    """What a missing record is created from, as the worker got it (made JSON-safe only then)."""

    name: str
    args: Sequence[Any]
    kwargs: Mapping[str, Any]
    enqueue_time: datetime
    queue_name: str
    trace_id: str = ""
    job_try: int = 0  # the try running (not a field of the record's creation)

    def fields(self) -> dict[str, Any]:
        """The record's fields besides the status fields, storable."""
        return storable_fields(
            {
                "name": self.name,
                "args": json_text(self.args),
                "kwargs": json_text(dict(self.kwargs)),
                "enqueue_time": self.enqueue_time,
                "queue_name": self.queue_name,
                "trace_id": self.trace_id,
            }
        )


@dataclass(slots=True)
class Pending:
    """What the recorder will write for one job: status fields, and what to create its record from."""

    status: dict[str, Any]
    create: Creation | None = None

    def merge(self, status: Mapping[str, Any], create: Creation | None) -> None:
        """Add an event: its status fields replace earlier ones (try errors add to them), its
        creation values fill a gap. An event of another enqueue of the job id (arq forgot the job
        and its id was enqueued again) starts afresh: the record will be the later job's."""
        if create is not None and self.create is not None and create.enqueue_time != self.create.enqueue_time:
            self.status, self.create = dict(status), create
            return
        if "try_errors" in status and "try_errors" in self.status:
            status = {**status, "try_errors": [*self.status["try_errors"], *status["try_errors"]]}
        self.status.update(status)
        if self.create is None:
            self.create = create


def error_text(exc: BaseException, with_traceback: bool = True) -> str:
    """The traceback of an exception raised by a job, or its ``repr`` if it has none."""
    if with_traceback and exc.__traceback__ is not None:
        return "".join(traceback.format_exception(exc)).strip()
    return safe_repr(exc)


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
        max_pending: int = MAX_PENDING,
        timeouts: Mapping[str, float | None] | None = None,
    ) -> None:
        self.alias = alias
        self.queue_name = queue_name
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.deserializer = deserializer
        self.using = using
        self.max_pending = max_pending
        self.timeouts = timeouts or {}  # job name -> how long arq lets a run last (the worker's: all)
        self._pending: dict[str, Pending] = {}
        self._running: dict[str, Creation] = {}  # job id -> creation values, while it runs
        self._outcomes: dict[str, tuple[bool, Any, str]] = {}  # job id -> (success, result, error)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-arq-recorder")
        self._wake = asyncio.Event()  # write now: a full batch, or closing
        self._busy = asyncio.Event()  # something to write: the flush timer runs only while set
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._not_migrated: str | None = None  # why the last write failed, if migrations are missing
        self._stopping = False
        self.written = 0
        self.worker_id = ""  # the id of the worker reporting (its heartbeat's), kept on each record

    # -- events, called on the worker's event loop; no I/O ------------------------------------

    def _add(self, job_id: str, status: dict[str, Any], create: Creation | None) -> None:
        pending = self._pending.get(job_id)
        if pending is None:
            self._pending[job_id] = Pending(status, create)
        else:
            pending.merge(status, create)
        self._busy.set()
        if len(self._pending) >= self.batch_size:
            self._wake.set()

    def job_started(self, ctx: Mapping[str, Any], name: str, args: Any, kwargs: Any) -> None:
        """A job function is about to run (arq's ``ctx`` gives the id and the try, and the trace
        id when it runs in a span)."""
        job_id = ctx["job_id"]
        job_try = ctx["job_try"]
        create = Creation(
            name, args, kwargs, ctx["enqueue_time"], self.queue_name, ctx.get("trace_id", ""), job_try
        )
        self._running[job_id] = create
        status = {
            "status": IN_PROGRESS,
            "start_time": datetime.now(UTC),
            "job_try": job_try,
            "worker_id": self.worker_id,
        }
        if job_try > 1:
            status["next_try_at"] = None
        self._add(job_id, status, create)

    def job_progressed(self, job_id: str, progress: JobProgress) -> None:
        """A running job's progress report was stored: it rides along with the next batch."""
        self._add(job_id, {"progress": json_text(progress_to_json(progress))}, self._running.get(job_id))

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
        create = self._running.pop(job_id, None)
        outcome = self._outcomes.pop(job_id, None)
        if outcome is None:  # cancelled before the function began: arq's stored result says how it ended
            result = self._read(job_id, result_data)
            outcome = (False, None, "") if result is None else self._outcome(result.success, result.result)
        elif outcome[0] and result_data is not None and _UNSERIALIZABLE in result_data:
            outcome = self._unserializable(job_id, outcome, result_data)
        success, result, error = outcome
        job_try, now = (create.job_try if create else 0), datetime.now(UTC)
        if not finished:
            status = JobStatus.deferred if deferred else JobStatus.queued
            retry: dict[str, Any] = {
                "status": status.value,
                "error": error or safe_repr(result),
                "next_try_at": next_try_at(result, now),
                "try_errors": [try_error(job_try, result, now)],
            }
            self._add(job_id, retry, create)
            return
        if isinstance(result, asyncio.CancelledError) and error != ABORTED:
            timeout_s = self.timeouts.get(create.name, timeout_s) if create else timeout_s
            result = timeout_error(timeout_s)
            error = repr(result)
        update: dict[str, Any] = {
            "status": COMPLETE,
            "finish_time": now,
            "success": success,
            "result": json_text(result),
            "error": error,
        }
        if job_try > 1 and not success:  # the last of several tries: kept beside the earlier ones
            update["try_errors"] = [try_error(job_try, result, now)]
        self._add(job_id, update, create)

    def end_not_described(self, job_id: str, finished: bool, exc: Exception) -> None:
        """``job_ended`` raised ``exc`` on a value no record can describe: the record says so."""
        logger.error("cannot record the end of job %s", job_id, exc_info=exc)
        create = self._running.pop(job_id, None)  # its try: a later try's record keeps its own error
        self._outcomes.pop(job_id, None)
        note = f"django-arq could not record how this try ended ({type(exc).__name__})"
        status = {"status": COMPLETE, "finish_time": datetime.now(UTC)} if finished else {}
        self._add(job_id, {**status, "error": note}, create)

    def _unserializable(
        self, job_id: str, outcome: tuple[bool, Any, str], result_data: bytes
    ) -> tuple[bool, Any, str]:
        """The outcome as arq stored it if arq could not serialize the returned value: a failure."""
        stored = self._read(job_id, result_data)
        if stored is None or stored.success or stored.result != UNSERIALIZABLE:
            return outcome  # the job returned that text itself
        returned = type(outcome[1])
        return False, UNSERIALIZABLE, f"{UNSERIALIZABLE}: {class_path(returned)}"

    def job_failed_early(self, job_id: str, result_data: bytes | None) -> None:
        """arq ended a job without running it: aborted before start, unknown function, too many tries."""
        self._running.pop(job_id, None)
        self._outcomes.pop(job_id, None)
        update: dict[str, Any] = {"status": COMPLETE, "success": False}
        create = None
        r = self._read(job_id, result_data)
        if r is not None:
            create = Creation(r.function, r.args, r.kwargs, r.enqueue_time, r.queue_name)
            _, result, error = self._outcome(r.success, r.result)
            update.update(result=json_text(result), error=error, finish_time=r.finish_time, job_try=r.job_try)
        update.setdefault("finish_time", datetime.now(UTC))
        update.setdefault("error", "ended by the worker before it started")
        self._add(job_id, update, create)

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
        return False, result, ABORTED if is_abort_result(success, result) else safe_repr(result)

    async def jobs_lost(self, jobs: Sequence[LostJob]) -> None:
        """Jobs of a lost worker were put back in the queue: their records say so (written now)."""
        write = partial(record_lost_jobs, self.using, self.alias, jobs, datetime.now(UTC))
        await asyncio.get_running_loop().run_in_executor(self._executor, write)

    # -- writing ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the background flush task on the running loop."""
        self._task = asyncio.create_task(self._run(), name="django-arq-recorder")

    async def _run(self) -> None:
        while not self._stopping:
            if not self._pending:  # an idle worker's recorder sleeps until there is something
                self._busy.clear()
                await self._busy.wait()
            with contextlib.suppress(TimeoutError):  # asyncio.wait_for may lose a stop on Python 3.11
                async with asyncio.timeout(self._delay()):
                    await self._wake.wait()
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
                if job_id in batch:
                    batch[job_id].merge(pending.status, pending.create)
                else:
                    batch[job_id] = pending
            self._pending = batch
            self._drop_oldest()
            self._not_migrated = await asyncio.get_running_loop().run_in_executor(
                self._executor, not_migrated, exc
            )
            when = "" if self._stopping else f", retrying in {self._delay():.1f}s"
            logger.warning(
                "could not write %d job record(s)%s: %s",
                len(batch),
                when,
                self._not_migrated or safe_str(exc),
            )
            return False
        self._failures = 0
        self.written += len(batch)
        return True

    def _drop_oldest(self) -> None:
        """Keep the updates of at most ``max_pending`` jobs while the database is down (bounded memory)."""
        excess = len(self._pending) - self.max_pending
        if excess > 0:
            for job_id in list(itertools.islice(self._pending, excess)):
                del self._pending[job_id]
            logger.error(
                "dropped the record updates of %d job(s) waiting for the database; "
                "`manage.py arq_reconcile` restores them from Redis",
                excess,
            )

    def _write(self, batch: dict[str, Pending]) -> None:
        """Runs in the recorder's thread: writes the batch, setting aside the jobs whose record the
        database refuses; raises if the database is unavailable."""
        # This thread keeps one connection for as long as it works (CONN_MAX_AGE is about requests);
        # a failed write closes it, and the retry opens a new one (updates and upserts repeat safely).
        items = [self._item(job_id, pending) for job_id, pending in batch.items()]
        try:
            write_salvaging(
                items,
                self._write_items,
                _safe_item,
                partial(_describe, self.alias),
                partial(table_answers, self.using),
            )
        except Exception:
            connections[self.using].close()  # start the next try on a fresh connection
            raise

    @staticmethod
    def _item(job_id: str, pending: Pending) -> Item:
        return storable_id(job_id), storable_fields(pending.status), pending.create

    def _write_items(self, items: Sequence[Item]) -> None:
        """One transaction updating the records that exist, then one insert per set of fields
        creating the missing ones it can (and replacing those of an earlier enqueue of the job id;
        an update of an earlier enqueue than its record's is left out). A record someone created
        meanwhile (the enqueue side, or another worker recording another try of the job) is left by
        the insert and updated as the others, in one more transaction, so that a later try's
        record is not set back. Never inserting while holding the update's row locks, and
        inserting in key order as the enqueue side does, it cannot deadlock with the enqueue
        side's batched inserts."""
        now = datetime.now(UTC)
        missing_ids = self._update(items, now)
        missing: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the fields they set
        created = []
        for item in items:
            job_id, status, create = item
            if job_id in missing_ids and create is not None:  # else nothing to create its record from
                row = {**_fields(create), **status, "job_id": job_id, "alias": self.alias}
                missing.setdefault(tuple(sorted(status)), []).append(row)
                created.append(item)
        for rows in missing.values():
            upsert_records(self.using, rows)
        if created:
            self._update(created, now)

    def _update(self, items: Sequence[Item], now: datetime) -> set[str]:
        """Update the records of ``items`` that exist, in one transaction; the ids of the others."""
        with transaction.atomic(using=self.using):
            items = self._with_stored_try_errors(items)
            return update_records(
                self.using,
                self.alias,
                {job_id: status for job_id, status, _ in items},
                now,
                {job_id: of for job_id, status, create in items if (of := _try_of(status, create))},
            )

    def _with_stored_try_errors(self, items: Sequence[Item]) -> list[Item]:
        """``items`` whose new try errors follow those their record has (locked until the update)."""
        new = {job_id: status["try_errors"] for job_id, status, _ in items if "try_errors" in status}
        if not new:
            return list(items)
        records = JobRecord.objects.using(self.using).filter(alias=self.alias, job_id__in=list(new))
        locked = records.select_for_update().order_by("job_id")  # in key order, as every writer locks
        stored = {
            job_id: (errors, enqueued)
            for job_id, errors, enqueued in locked.values_list("job_id", "try_errors", "enqueue_time")
        }
        zoned = connections[self.using].features.supports_timezones
        merged = []
        for job_id, status, create in items:
            if job_id in new:
                kept = _earlier_tries(stored.get(job_id), _try_of(status, create), zoned)
                status = {**status, "try_errors": json_text(merged_try_errors(kept, new[job_id]))}
            merged.append((job_id, status, create))
        return merged

    def _close_connection(self) -> None:
        connections[self.using].close()

    async def close(self) -> None:
        """Stop the background task and write what is left (a few tries if the database is down)."""
        self._stopping = True
        self._busy.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        deadline = time.monotonic() + 5
        while not await self.flush() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        if self._pending:
            first = "once `manage.py migrate` made the tables, " if self._not_migrated else ""
            logger.error(
                "%d job record update(s) not written; %s`manage.py arq_reconcile` restores them from Redis",
                len(self._pending),
                first,
            )
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_connection)
        self._executor.shutdown(wait=True)


def _fields(create: Creation | dict[str, Any]) -> dict[str, Any]:
    return create.fields() if isinstance(create, Creation) else create


def _try_of(status: Mapping[str, Any], create: Creation | dict[str, Any] | None) -> TryOf | None:
    """Which try of which enqueue a job's update is about, where the worker knows."""
    if isinstance(create, Creation):
        job_try, enqueue_time = status.get("job_try") or create.job_try, create.enqueue_time
    elif create is not None:  # a safe form (``_safe_item``)
        job_try, enqueue_time = status.get("job_try") or create.get("job_try"), create["enqueue_time"]
    else:
        return None
    return TryOf(job_try, enqueue_time) if job_try else None


def _earlier_tries(stored: tuple[Any, datetime] | None, of: TryOf | None, zoned: bool) -> Any:
    """The try errors of a stored record (its try errors and enqueue time) that an update about
    ``of`` adds to: none from a record of an earlier enqueue of the job id, which it replaces.
    The times are compared as the database compares them (``zoned``: whether it keeps time
    zones; without, two instants of a repeated hour are one local time, as stored)."""
    if stored is None:
        return None
    errors, enqueued = stored
    if of is not None and storable_time(enqueued, zoned) < storable_time(of.enqueue_time, zoned):
        return None
    return errors


def _safe_item(item: Item) -> Item:
    """``item`` with values every database takes; its creation keeps the try it ran (``_try_of``)."""
    job_id, status, create = item
    if create is None:
        return job_id, safe_row(status), None
    safe = safe_row(_fields(create))
    if isinstance(create, Creation) and create.job_try:
        safe["job_try"] = create.job_try
    return job_id, safe_row(status), safe


def _describe(alias: str, item: Item) -> str:
    return f"alias {alias!r}, job {item[0]!r}"
