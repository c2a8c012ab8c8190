"""JobRecord inserts batched by a background thread (``AUDIT: True``, outside transactions).

Writing the records of an enqueue in the call would cost a database commit per call (an fsync on
PostgreSQL, a journal write on SQLite), more than the enqueue itself. So the records
go to a per-process ``RecordWriter`` instead: a daemon thread inserts everything queued
every ``interval`` seconds in one transaction, so many enqueues share one commit. Records then
appear a few milliseconds after the enqueue returns; ``flush_records()`` waits for them, and the
queue is flushed at interpreter exit (``discard`` drops it instead: the pytest plugin's, for rows a
test run leaves). If the database is down, the rows are kept (at most
``MAX_PENDING``) and retried; a row the database refuses is found and set aside without holding
up the others (``audit.salvage``).

Rows are only ever written to the database they were meant for: each keeps the database alias
and what identified that database (its ENGINE, NAME, HOST, PORT) when it was handed over, and
rows whose database has since changed or gone are dropped with a warning. So records of a test
run still pending when the test database is dropped never reach the real database.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

from django.db import connections

from ..queues.describe import safe_str
from ..queues.jobs import JobMetadata
from .inserts import upsert_records
from .migrated import not_migrated
from .rows import Database, database_of, describe_row, record_rows, records_db, safe_row
from .salvage import table_answers, write_salvaging

__all__ = ["RecordWriter", "flush_records", "writer"]

logger = logging.getLogger("django_arq.records")
MAX_BACKOFF = 30.0
#: Records kept while the database cannot take them; beyond this the oldest are dropped (logged):
#: the worker creates a job's record when it runs it, and ``arq_reconcile`` restores the rest.
MAX_PENDING = 100_000
IDLE_EXIT = 2.0  # seconds without records before the thread closes its connection and ends


#: A row the writer wrote: its database, alias and job id.
Written = tuple[str, str, str]


class Handed(NamedTuple):
    """Records handed over together, and the database they were meant for."""

    using: str
    database: Database
    alias: str
    jobs: Sequence[JobMetadata]


class RecordWriter:
    """Inserts JobRecords from one daemon thread, one transaction per batch."""

    def __init__(self, interval: float = 0.02, max_pending: int = MAX_PENDING) -> None:
        self.interval = interval
        self.max_pending = max_pending
        self._reset()

    def _reset(self) -> None:
        """An empty writer; also in a forked child, which has the parent's rows but not its thread."""
        self._pending: list[Handed] = []
        self._added = 0  # jobs handed over so far
        self._written = 0  # jobs written (or found already written, or dropped) so far
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._woken = False  # a flush or stop asked the thread not to wait for the interval
        self._discards = 0  # calls of discard so far: a batch being written then is not counted again
        self._opened: dict[str, Database] = {}  # the database each connection of the thread was opened on
        #: While a list (the pytest plugin's), each row written is added to it as (database, alias, job id).
        self.noted: list[Written] | None = None

    def add(self, alias: str, jobs: Sequence[JobMetadata]) -> None:
        """Queue the records of freshly enqueued jobs; returns at once."""
        using = records_db()
        handed = Handed(using, database_of(using), alias, jobs)
        with self._cond:
            self._pending.append(handed)
            self._added += len(jobs)
            self._drop_oldest()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="django-arq-records", daemon=True)
                self._thread.start()

    def _drop_oldest(self) -> None:
        """Keep at most ``max_pending`` records waiting (the database is down): memory stays bounded."""
        dropped = 0
        while self._added - self._written - dropped > self.max_pending and len(self._pending) > 1:
            dropped += len(self._pending.pop(0).jobs)
        if dropped:
            self._written += dropped  # flush() does not wait for them
            self._cond.notify_all()
            logger.error(
                "dropped %d job record(s) waiting for the database (more than %d waited); the worker "
                "creates them when it runs the jobs, `manage.py arq_reconcile` restores the others",
                dropped,
                self.max_pending,
            )

    def pending(self) -> int:
        """How many records handed over are not written yet."""
        with self._cond:
            return self._added - self._written

    def discard(self) -> int:
        """Drop every record not written yet (one being written now may still be); how many."""
        with self._cond:
            dropped = self._added - self._written
            self._pending = []
            self._written = self._added
            self._discards += 1
            self._cond.notify_all()
            return dropped

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record queued before this call is written; False on timeout."""
        with self._cond:
            target = self._added
            self._woken = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._written >= target, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread (it starts again on the next ``add``)."""
        self.flush(timeout)
        with self._cond:
            thread = self._thread
            self._stopping = thread is not None
            self._woken = True
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        failures, idle_since = 0, time.monotonic()
        while True:
            delay = self.interval if not failures else min(MAX_BACKOFF, self.interval * 2**failures)
            with self._cond:
                if not self._woken:
                    self._cond.wait(delay)
                self._woken = False
                batch, self._pending = self._pending, []
                discards = self._discards
                if not batch and (self._stopping or time.monotonic() - idle_since > IDLE_EXIT):
                    self._thread, self._stopping = None, False
                    connections.close_all()  # idle: give the connections back, and the thread
                    self._opened.clear()
                    return
            if not batch:
                continue
            idle_since = time.monotonic()
            try:
                self._write(batch)
            except Exception as exc:  # the database is unavailable: keep the rows, retry later
                retry = exc if isinstance(exc, _Retry) else _Retry(batch, exc)
                failures += 1
                count = sum(len(handed.jobs) for handed in retry.handed)
                why = not_migrated(retry.error) or safe_str(retry.error)
                logger.warning("could not write %d job record(s), will retry: %s", count, why)
                connections.close_all()
                self._opened.clear()
                left = {id(handed) for handed in retry.handed}
                done = [handed for handed in batch if id(handed) not in left]
                with self._cond:
                    if self._discards == discards:
                        self._pending[:0] = retry.handed
                        self._written += sum(len(handed.jobs) for handed in done)
                    self._cond.notify_all()
                continue
            failures = 0
            with self._cond:
                if self._discards == discards:
                    self._written += sum(len(handed.jobs) for handed in batch)
                self._cond.notify_all()

    def _write(self, batch: list[Handed]) -> None:
        """Write the batch, one transaction per database (the rows at fault set aside); raises
        ``_Retry`` with what is left to write if a database is unavailable."""
        groups: dict[tuple[str, Database], list[Handed]] = {}
        for handed in batch:
            groups.setdefault((handed.using, handed.database), []).append(handed)
        for i, ((using, database), group) in enumerate(groups.items()):
            if database is None or database_of(using) != database:  # never written: not retried
                count = sum(len(handed.jobs) for handed in group)
                logger.warning(
                    "dropped %d job record(s) meant for database %r (NAME %r): it is not configured now "
                    "(a test database that was dropped, or a router naming an alias DATABASES lacks)",
                    count,
                    using,
                    database[1] if database else None,
                )
                continue
            try:
                self._write_to(using, database, group)
            except Exception as exc:
                raise _Retry([h for g in list(groups.values())[i:] for h in g], exc) from exc

    def _write_to(self, using: str, database: Database, group: list[Handed]) -> None:
        # This thread keeps one connection for as long as it works (CONN_MAX_AGE is about requests);
        # a failed write closes it, and the retry opens a new one. A connection opened on another
        # database under the same alias (a test run switched it) is closed first.
        if self._opened.get(using, database) != database:
            connections[using].close()
        self._opened[using] = database
        rows = [row for handed in group for row in _rows(handed)]
        write_salvaging(
            rows, partial(self._upsert, using), safe_row, describe_row, partial(table_answers, using)
        )

    def _upsert(self, using: str, rows: Sequence[dict[str, Any]]) -> None:
        upsert_records(using, rows)
        noted = self.noted
        if noted is not None:
            noted += [(using, row["alias"], row["job_id"]) for row in rows]


class _Retry(Exception):
    """A database was unavailable: ``handed`` is what is left to write."""

    def __init__(self, handed: list[Handed], error: Exception) -> None:
        super().__init__(str(error))
        self.handed = handed
        self.error = error


def _rows(handed: Handed) -> list[dict[str, Any]]:
    """The rows of handed-over jobs; a job whose values cannot be made a row is dropped (logged)."""
    try:
        return record_rows(handed.alias, handed.jobs)
    except Exception:
        rows = []
        for job in handed.jobs:
            try:
                rows += record_rows(handed.alias, [job])
            except Exception:
                logger.exception(
                    "dropped the job record of alias %r, job %r: no row can be made of it",
                    handed.alias,
                    job.id,
                )
        return rows


writer = RecordWriter()
# A process forked while the writer held its lock or had rows (gunicorn --preload, multiprocessing)
# starts with an empty writer: the parent writes its own rows.
os.register_at_fork(after_in_child=writer._reset)


def flush_records(timeout: float = 10.0) -> bool:
    """Wait for the JobRecords handed to this process's background writer to be written."""
    return writer.flush(timeout)


@atexit.register
def _flush_at_exit() -> None:
    if writer.pending():
        started = time.monotonic()
        if not writer.flush(5.0):
            logger.error("%d deferred job record(s) not written at exit", writer.pending())
        logger.debug("flushed deferred job records in %.3fs", time.monotonic() - started)
