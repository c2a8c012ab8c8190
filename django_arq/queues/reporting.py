"""Progress reports of running jobs: coalesced per job, stored beside it, mirrored by the worker.

A job calls ``report_progress(ctx, done, total, message)`` (or ``report_progress_sync`` from a sync
function, in its thread). The ``ProgressReports`` that the worker (or ``MockArqQueue.run_queued``)
puts in every job's ``ctx`` stores a report at once when the job's last one was stored at least
``interval`` seconds ago; a report that comes sooner waits, replacing any waiting before it, and
is stored when the interval has passed or when the job ends, whichever is first. So a job stores
at most one report per interval, each in one Redis command, and its last report is never lost.

In Redis a report lives as long as a running job's in-progress key plus its result would, and once
the job ends, exactly as long as its result (it is deleted with a job whose result is not kept).

Reports are taken from a job's try between its start (``job_started``, by whoever runs it) and its
end (``job_ended``); a report made after that, by a thread or task the job left running, or by a
try that timed out, is ignored: it never replaces the last report or its lifetime.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from .jobs import JobProgress
from .progress import Report, encode_progress, new_report, progress_key, progress_of

__all__ = [
    "CTX_KEY",
    "DEFAULT_INTERVAL",
    "WHILE_RUNNING",
    "ProgressReports",
    "RedisProgress",
    "current_job",
    "kept_for_ms",
    "report_progress",
    "report_progress_sync",
]

logger = logging.getLogger("django_arq.progress")

#: The key of a job's ``ctx`` holding the ``ProgressReports`` its reports go to.
CTX_KEY = "django_arq_progress"
#: Seconds between two stored reports of one job (``WORKER["PROGRESS_INTERVAL"]``).
DEFAULT_INTERVAL = 0.2
#: ``keep_ms`` meaning "as long as a running job's report lives": the job runs again later.
WHILE_RUNNING = -1
#: How long the reports of a job run by a plain arq worker (not ``manage.py arq_worker``) live:
#: arq's default in-progress lifetime (job timeout 300 s + 10 s) plus its default result's (3600 s).
PLAIN_ARQ_TTL_MS = (300 + 10 + 3600) * 1000
#: How long a sync job's thread waits for the event loop to store its report.
SYNC_STORE_TIMEOUT = 10.0
#: The arq ``ctx`` of the job running in this context, for ``report_progress`` called with
#: something else than a ctx dict (a ``django.tasks`` ``TaskContext``, set by the tasks runner).
current_job: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "django_arq_current_job", default=None
)


def kept_for_ms(finished: bool, result_kept: bool, keep_result_s: float | None, forever: bool) -> int | None:
    """How long a job's report lives once a try of it ended, as its result: ``WHILE_RUNNING`` if the
    job runs again, 0 (deleted) if no result is kept, None if it is kept forever, else milliseconds."""
    if not finished:
        return WHILE_RUNNING
    if not result_kept:
        return 0
    if forever or keep_result_s is None:
        return None
    return max(1, int(keep_result_s * 1000))


@dataclass(slots=True, eq=False)
class _Job:
    """The reports of one running try of a job. ``latest`` is written by the job's thread without the
    lock (the hot path) only while ``scheduled`` is set; the rest is changed under the lock."""

    job_try: int | None  # the try running: a report of another one is not taken
    latest: Report | None = None  # the latest report
    stored: Report | None = None  # the latest report stored (or being stored)
    next_at: float = 0.0  # monotonic time from which a report is stored at once
    scheduled: bool = False  # a store of ``latest`` is scheduled or running
    timer: asyncio.TimerHandle | None = None
    flush: asyncio.Task[None] | None = None
    storing: int = 0  # stores of reports taken at once, under way on the event loop
    stores_done: asyncio.Future[None] | None = None  # what ``job_ended`` waits on while ``storing``


class ProgressReports:
    """The progress reports of the jobs of one worker, coalesced to one stored report per job and
    ``interval``. Made on the worker's event loop; reports may come from any thread.

    Subclasses implement ``store`` and ``expire``.
    """

    def __init__(
        self,
        *,
        interval: float = DEFAULT_INTERVAL,
        on_stored: Callable[[str, JobProgress], None] | None = None,
    ) -> None:
        self.interval = interval
        #: Called on the event loop with each report stored (the worker's JobRecord mirror).
        self.on_stored = on_stored
        self.loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._detached: set[asyncio.Task[None]] = set()

    async def store(self, job_id: str, progress: JobProgress, keep_ms: int | None) -> None:
        """Store a report, to live ``keep_ms`` (see ``kept_for_ms``)."""
        raise NotImplementedError

    async def expire(self, job_id: str, keep_ms: int | None) -> None:
        """Give the stored report of an ended job its lifetime (see ``kept_for_ms``)."""
        raise NotImplementedError

    # -- the rule, shared by the async and the sync call --------------------------------------

    def job_started(self, job_id: str, job_try: int | None) -> None:
        """A try of the job starts: its reports are taken until ``job_ended`` (the try's again, if
        it runs already)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.job_try != job_try:
                self._jobs[job_id] = _Job(job_try)

    def take(self, job_id: str, job_try: int | None, report: Report) -> _Job | None:
        """The running try to store ``report`` for now (``store_now``); else None: it waits, and its
        store is scheduled, or the try is not running (it ended), and the report is ignored."""
        job = self._jobs.get(job_id)
        if job is None or job.job_try != job_try:
            return None
        if job.scheduled:  # the hot path: a store is coming, it takes the latest
            job.latest = report
            if job.scheduled:  # still: the flush's last look at ``latest`` comes after this write
                return None
        with self._lock:
            if self._jobs.get(job_id) is not job:  # it ended meanwhile
                return None
            job.latest = report
            if job.scheduled:
                return None
            now = time.monotonic()
            if now >= job.next_at:
                job.next_at, job.stored = now + self.interval, report
                return job
            job.scheduled = True
            delay = job.next_at - now
        if threading.get_ident() == self._loop_thread:
            self._schedule(job_id, job, delay)
        else:
            self.loop.call_soon_threadsafe(self._schedule, job_id, job, delay)
        return None

    def _schedule(self, job_id: str, job: _Job, delay: float) -> None:
        if self._jobs.get(job_id) is job:  # not ended meanwhile
            job.timer = self.loop.call_later(delay, self._start_flush, job_id, job)

    def _start_flush(self, job_id: str, job: _Job) -> None:
        job.timer = None
        job.flush = self.loop.create_task(self._flush(job_id, job), name=f"django-arq-progress-{job_id}")

    async def _flush(self, job_id: str, job: _Job) -> None:
        with self._lock:
            report = job.latest
            fresh = report is not job.stored
            job.stored, job.next_at = report, time.monotonic() + self.interval
        if fresh and report is not None:
            await self._store(job_id, report, WHILE_RUNNING)
        with self._lock:
            job.flush = None
            job.scheduled = False  # before looking at ``latest``: see ``take``'s hot path
            if job.latest is job.stored or self._jobs.get(job_id) is not job:
                return
            job.scheduled = True  # reports came while this one was stored
            delay = job.next_at - time.monotonic()
        self._schedule(job_id, job, delay)

    async def _store(self, job_id: str, report: Report, keep_ms: int | None) -> None:
        """Store a report; a failure is logged, never raised into the job."""
        progress = progress_of(report)
        try:
            await self.store(job_id, progress, keep_ms)
        except Exception as exc:
            logger.warning("job %s: could not store its progress report (%s)", job_id, exc)
        if self.on_stored is not None:
            try:
                self.on_stored(job_id, progress)
            except Exception:
                logger.exception("job %s: could not mirror its progress report", job_id)

    # -- the calls -----------------------------------------------------------------------------

    async def store_now(self, job_id: str, job: _Job, report: Report) -> None:
        """Store a report ``take`` said is due, from the event loop, unless its try ended meanwhile
        (``job_ended`` waits for a store begun before)."""
        if self._jobs.get(job_id) is not job:
            return
        job.storing += 1
        try:
            await self._store(job_id, report, WHILE_RUNNING)
        finally:
            job.storing -= 1
            if not job.storing and job.stores_done is not None and not job.stores_done.done():
                job.stores_done.set_result(None)

    def store_now_sync(self, job_id: str, job: _Job, report: Report) -> None:
        """``store_now`` from a job's thread: on the event loop, waited for."""
        store = self.store_now(job_id, job, report)
        if threading.get_ident() == self._loop_thread:  # a sync helper called by async code
            self._detach(store)
            return
        future = asyncio.run_coroutine_threadsafe(store, self.loop)
        try:
            future.result(SYNC_STORE_TIMEOUT)
        except TimeoutError:
            future.cancel()
            logger.warning("job %s: its progress report was not stored in %ss", job_id, SYNC_STORE_TIMEOUT)

    def _detach(self, store: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(store)
        self._detached.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._detached.discard)

    async def job_ended(self, job_id: str, keep_ms: int | None) -> None:
        """Store a job's waiting report now and give its report the lifetime ``keep_ms``; reports
        made from now on are ignored."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
            latest = None if job is None else job.latest  # the last report taken
        if job is None or latest is None:  # it never reported
            return
        if job.timer is not None:
            job.timer.cancel()
        if job.flush is not None:
            await asyncio.shield(job.flush)
        if job.storing:
            job.stores_done = self.loop.create_future()
            await asyncio.shield(job.stores_done)
        if latest is not job.stored:
            await self._store(job_id, latest, keep_ms)
        elif keep_ms != WHILE_RUNNING:
            try:
                await self.expire(job_id, keep_ms)
            except Exception as exc:
                logger.warning("job %s: could not set how long its progress report lives (%s)", job_id, exc)


class RedisProgress(ProgressReports):
    """Reports stored in Redis beside their jobs, one command each, with the jobs' lifetime."""

    def __init__(
        self,
        redis: Any,
        *,
        running_ttl_ms: int,
        interval: float = DEFAULT_INTERVAL,
        on_stored: Callable[[str, JobProgress], None] | None = None,
    ) -> None:
        super().__init__(interval=interval, on_stored=on_stored)
        self.redis = redis
        #: How long a running job's report lives: its in-progress key's lifetime plus its result's.
        self.running_ttl_ms = running_ttl_ms

    async def store(self, job_id: str, progress: JobProgress, keep_ms: int | None) -> None:
        key = progress_key(job_id)
        if keep_ms == 0:
            await self.redis.execute_command("DEL", key)
            return
        ttl = self.running_ttl_ms if keep_ms == WHILE_RUNNING else keep_ms
        expiry = () if ttl is None else ("PX", ttl)
        await self.redis.execute_command("SET", key, encode_progress(progress), *expiry)

    async def expire(self, job_id: str, keep_ms: int | None) -> None:
        key = progress_key(job_id)
        if keep_ms is None:
            await self.redis.execute_command("PERSIST", key)
        elif keep_ms == 0:
            await self.redis.execute_command("DEL", key)
        else:
            await self.redis.execute_command("PEXPIRE", key, keep_ms)


def _job_reports(ctx: object) -> tuple[ProgressReports, str, int | None]:
    """The reports, the job id and the try a report of ``ctx`` goes to; ``TypeError`` for anything else."""
    if type(ctx) is dict:  # the usual case, first
        reports, job_id = ctx.get(CTX_KEY), ctx.get("job_id")
        if isinstance(reports, ProgressReports) and type(job_id) is str:
            return reports, job_id, ctx.get("job_try")
    job: object = ctx
    if not isinstance(ctx, Mapping):  # a django.tasks TaskContext: the job running in this context
        job = current_job.get()
        task_result = getattr(ctx, "task_result", None)
        if job is None or task_result is None or getattr(task_result, "id", None) != job.get("job_id"):
            raise TypeError(
                "report_progress takes the ctx dict arq passes to a job function (or the TaskContext "
                f"of a django.tasks task running on ArqBackend), not {type(ctx).__name__}"
            )
    assert isinstance(job, Mapping)
    reports, job_id = job.get(CTX_KEY), job.get("job_id")
    if reports is None and isinstance(job, dict) and "redis" in job and isinstance(job_id, str):
        try:  # a plain arq worker's job: its ctx is the try's own, running as long as it is used
            reports = job[CTX_KEY] = RedisProgress(job["redis"], running_ttl_ms=PLAIN_ARQ_TTL_MS)
        except RuntimeError:  # no event loop in this thread
            reports = None
        else:
            reports.job_started(job_id, job.get("job_try"))
    if not isinstance(reports, ProgressReports) or not isinstance(job_id, str):
        raise TypeError(
            "report_progress needs the ctx of a job run by an arq worker (manage.py arq_worker, or a "
            "plain arq worker for async jobs) or by MockArqQueue.run_queued; this ctx has neither "
            "django-arq's progress store nor arq's Redis pool"
        )
    return reports, job_id, job.get("job_try")


async def report_progress(
    ctx: Any, done: float, total: float | None = None, message: str | None = None
) -> None:
    """Report how far the running job is: ``done`` of ``total`` (any unit), and a short message.

    Cheap enough to call on every iteration of a loop: reports closer together than the worker's
    ``PROGRESS_INTERVAL`` are coalesced, and the last one is always stored. ``done`` and ``total``
    are finite numbers >= 0 (``TypeError``/``ValueError`` otherwise); a message longer than
    ``MAX_MESSAGE_LENGTH`` is cut, and NUL characters and lone surrogates in it are replaced by
    U+FFFD. A report that cannot be stored (Redis unreachable) is logged, not raised. A report made
    once the job ended (by a task it left running) is ignored.
    """
    report = new_report(done, total, message)
    reports, job_id, job_try = _job_reports(ctx)
    job = reports.take(job_id, job_try, report)
    if job is not None:
        await reports.store_now(job_id, job, report)


def report_progress_sync(
    ctx: Any, done: float, total: float | None = None, message: str | None = None
) -> None:
    """``report_progress`` for a sync job function (run in a thread), or a ``django.tasks`` task."""
    report = new_report(done, total, message)
    reports, job_id, job_try = _job_reports(ctx)
    job = reports.take(job_id, job_try, report)
    if job is not None:
        reports.store_now_sync(job_id, job, report)
