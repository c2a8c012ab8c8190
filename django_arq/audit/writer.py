"""JobRecord inserts batched by a background thread (``AUDIT: True``, outside transactions).

Writing the records of an enqueue in the call would cost a database commit per call (an fsync on
PostgreSQL, ~1-3 ms on SQLite's default journal), more than the enqueue itself. So the records
go to a per-process ``RecordWriter`` instead: a daemon thread inserts everything queued
every ``interval`` seconds in one transaction, so many enqueues share one commit. Records then
appear a few milliseconds after the enqueue returns; ``flush_records()`` waits for them, and the
queue is flushed at interpreter exit. If the database is down, the rows are kept (at most
``MAX_PENDING``) and retried.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence

from django.db import connections

from ..queues.jobs import JobMetadata
from .inserts import upsert_records
from .rows import record_rows, records_db

__all__ = ["RecordWriter", "flush_records", "writer"]

logger = logging.getLogger("django_arq.records")
MAX_BACKOFF = 30.0
#: Records kept while the database cannot take them; beyond this the oldest are dropped (logged):
#: the worker creates a job's record when it runs it, and ``arq_reconcile`` restores the rest.
MAX_PENDING = 100_000
IDLE_EXIT = 2.0  # seconds without records before the thread closes its connection and ends


class RecordWriter:
    """Inserts JobRecords from one daemon thread, one transaction per batch."""

    def __init__(self, interval: float = 0.02, max_pending: int = MAX_PENDING) -> None:
        self.interval = interval
        self.max_pending = max_pending
        self._reset()

    def _reset(self) -> None:
        """An empty writer; also in a forked child, which has the parent's rows but not its thread."""
        self._pending: list[tuple[str, Sequence[JobMetadata]]] = []
        self._added = 0  # jobs handed over so far
        self._written = 0  # jobs written (or found already written, or dropped) so far
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, alias: str, jobs: Sequence[JobMetadata]) -> None:
        """Queue the records of freshly enqueued jobs; returns at once."""
        with self._cond:
            self._pending.append((alias, jobs))
            self._added += len(jobs)
            self._drop_oldest()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="django-arq-records", daemon=True)
                self._thread.start()

    def _drop_oldest(self) -> None:
        """Keep at most ``max_pending`` records waiting (the database is down): memory stays bounded."""
        dropped = 0
        while self._added - self._written - dropped > self.max_pending and len(self._pending) > 1:
            dropped += len(self._pending.pop(0)[1])
        if dropped:
            self._written += dropped  # flush() does not wait for them
            self._cond.notify_all()
            logger.error(
                "dropped %d job record(s) waiting for the database (more than %d waited); the worker "
                "creates them when it runs the jobs, `manage.py arq_reconcile` restores the others",
                dropped,
                self.max_pending,
            )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record queued before this call is written; False on timeout."""
        with self._cond:
            target = self._added
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._written >= target, timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread (it starts again on the next ``add``)."""
        self.flush(timeout)
        with self._cond:
            thread = self._thread
            self._stopping = thread is not None
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        failures, idle_since = 0, time.monotonic()
        while True:
            delay = self.interval if not failures else min(MAX_BACKOFF, self.interval * 2**failures)
            with self._cond:
                self._cond.wait(delay)
                batch, self._pending = self._pending, []
                if not batch and (self._stopping or time.monotonic() - idle_since > IDLE_EXIT):
                    self._thread, self._stopping = None, False
                    connections.close_all()  # idle: give the connections back, and the thread
                    return
            if not batch:
                continue
            idle_since = time.monotonic()
            try:
                self._write(batch)
            except Exception as exc:  # keep the rows, retry later
                failures += 1
                logger.warning("could not write %d job record(s), will retry: %s", len(batch), exc)
                connections.close_all()
                with self._cond:
                    self._pending[:0] = batch
                continue
            failures = 0
            with self._cond:
                self._written += sum(len(jobs) for _, jobs in batch)
                self._cond.notify_all()

    def _write(self, batch: list[tuple[str, Sequence[JobMetadata]]]) -> None:
        # This thread keeps one connection for as long as it works (CONN_MAX_AGE is about requests);
        # a failed write closes it, and the retry opens a new one.
        rows = [row for alias, jobs in batch for row in record_rows(alias, jobs)]
        upsert_records(records_db(), rows)  # one transaction


writer = RecordWriter()
# A process forked while the writer held its lock or had rows (gunicorn --preload, multiprocessing)
# starts with an empty writer: the parent writes its own rows.
os.register_at_fork(after_in_child=writer._reset)


def flush_records(timeout: float = 10.0) -> bool:
    """Wait for the JobRecords handed to this process's background writer to be written."""
    return writer.flush(timeout)


@atexit.register
def _flush_at_exit() -> None:
    if writer._added > writer._written:
        started = time.monotonic()
        if not writer.flush(5.0):
            logger.error("%d deferred job record(s) not written at exit", writer._added - writer._written)
        logger.debug("flushed deferred job records in %.3fs", time.monotonic() - started)
