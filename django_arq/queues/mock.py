"""MockArqQueue: an in-memory ArqQueue with the same outcomes as RedisArqQueue, for tests and development."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from arq.jobs import JobStatus
from arq.worker import Retry
from asgiref.sync import sync_to_async
from django.db import connections
from django.utils.module_loading import import_string

from ..tracing import JobTracer, TraceContext, enqueue_tracer, job_tracer
from .arq_internals import JobExecutionFailed, ms_to_datetime, timestamp_ms
from .base import DEFAULT_ABORT_TIMEOUT, ArqQueue, QueueConfig
from .exceptions import JobNotFound, JobNotQueued, JobResultUnavailable
from .jobs import (
    JobMetadata,
    JobProgress,
    JobResult,
    JobSpec,
    QueueCounts,
    can_name_a_job,
    check_distinct_ids,
    ids_taken,
    job_ids,
    job_not_found,
    job_status,
    span_names,
    unserializable,
)
from .reporting import CTX_KEY, DEFAULT_INTERVAL, WHILE_RUNNING, ProgressReports
from .storable import checked

__all__ = ["MockArqQueue"]

#: How many times ``run_queued`` runs a job that asks to be retried: arq's default ``max_tries``.
MAX_TRIES = 5


def _in_worker_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A sync job function as a coroutine function run in a thread of its own, as a worker runs it.

    Like a worker, it sees only committed rows and closes the database connections it opened,
    so none is left behind in a pool thread (PostgreSQL would refuse to drop a test database).
    """

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    return sync_to_async(run, thread_sensitive=False)


@dataclass
class _Job:
    metadata: JobMetadata
    score_ms: int
    expires_ms: int
    job_try: int = 0
    in_progress: bool = False
    result: JobResult | None = None
    task: asyncio.Task[Any] | None = None
    start_time: datetime | None = None
    #: The trace context of the job's enqueue span, which its run span is a child of.
    carrier: Mapping[str, str] | None = None

    def alive(self, now_ms: int) -> bool:
        """Whether its id is taken, as Redis holds a payload, a result or an in-progress key for it.
        One that expired before a worker took it stays, as its entry stays in a Redis queue:
        counted, replaced by an enqueue of its id, and finished as expired by the runner that
        reaches it."""
        return self.result is not None or self.in_progress or now_ms < self.expires_ms

    def found(self, now_ms: int, queue: str, running: bool = False) -> bool:
        """Whether a read from ``queue`` finds the job, as arq's Job does: by its result, or by its
        payload (lost once its ``_expires`` passes, even while it runs) with its entry in that queue
        or a run under way. ``running`` finds a run whatever its payload, as an abort does."""
        if self.result is not None:
            return True
        payload = now_ms < self.expires_ms
        return (self.in_progress and (payload or running)) or (payload and self.metadata.queue_name == queue)


class _MockProgress(ProgressReports):
    """Progress reports of the jobs ``MockArqQueue.run_queued`` runs, kept with the jobs."""

    def __init__(self, queue: MockArqQueue, interval: float) -> None:
        super().__init__(interval=interval)
        self.queue = queue

    async def store(self, job_id: str, progress: JobProgress, keep_ms: int | None) -> None:
        with self.queue._lock:
            job = self.queue._jobs.get(job_id)
            if job is not None:
                job.metadata.progress = progress
                if job.result is not None:
                    job.result.progress = progress

    async def expire(self, job_id: str, keep_ms: int | None) -> None:
        """Nothing to do: a report lives as long as its job in the mock, whose results are kept."""


class MockArqQueue(ArqQueue):
    """Keeps jobs in memory, as Redis would: ids are global, results are kept, aborts are recorded.

    Nothing runs by itself: tests drive jobs with ``set_in_progress`` / ``set_complete``, or run
    the queued jobs in-process with ``run_queued``. Safe to share between threads. With
    ``tracing`` on and OpenTelemetry installed, enqueues and runs make the spans a Redis queue and
    its worker make (``django_arq.tracing``).
    """

    jobs_run_in_process = True

    def __init__(
        self,
        *,
        default_queue_name: str = "arq:queue",
        abort_timeout: float = DEFAULT_ABORT_TIMEOUT,
        serializer: str = "pickle",
        progress_interval: float = DEFAULT_INTERVAL,
        tracing: bool = True,
    ) -> None:
        super().__init__(
            default_queue_name=default_queue_name, abort_timeout=abort_timeout, serializer=serializer
        )
        #: Seconds between two stored progress reports of a job that ``run_queued`` runs.
        self.progress_interval = progress_interval
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.RLock()
        self.tracing = tracing
        self._tracer = enqueue_tracer(tracing)  # None without OpenTelemetry: nothing of it is imported

    @classmethod
    def from_config(cls, config: QueueConfig) -> MockArqQueue:
        return cls(
            default_queue_name=config.default_queue_name,
            abort_timeout=config.abort_timeout,
            serializer=config.serializer,
            progress_interval=config.worker.get("PROGRESS_INTERVAL", DEFAULT_INTERVAL),
            tracing=config.tracing,
        )

    def __repr__(self) -> str:
        return f"<MockArqQueue queue={self.default_queue_name!r} jobs={len(self._jobs)}>"

    # -- the in-memory rules, shared by the async API and its sync twins ----------------------

    def _copy(self, spec: JobSpec, job_id: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Round-trip the arguments through the serializer, as Redis would."""
        try:
            data = self.serializer.loads(
                self.serializer.dumps({"a": tuple(spec.args), "k": dict(spec.kwargs)})
            )
        except Exception as exc:
            raise unserializable(spec, self.serializer.name, job_id, exc) from exc
        return tuple(data["a"]), dict(data["k"])

    def _live(self, job_id: str) -> _Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.alive(timestamp_ms()) else None

    def _enqueue(self, specs: Sequence[JobSpec]) -> list[JobMetadata]:
        self._check_names(specs)
        ids = job_ids(specs)
        if self._tracer is None:
            return self._store(specs, ids, None)
        with self._tracer.spans(span_names(specs, ids, self.default_queue_name)) as contexts:
            return self._store(specs, ids, contexts)

    def _store(
        self, specs: Sequence[JobSpec], ids: Sequence[str], traces: Sequence[TraceContext] | None
    ) -> list[JobMetadata]:
        now_ms = timestamp_ms()
        new: list[_Job] = []
        for i, (spec, job_id) in enumerate(zip(specs, ids, strict=True)):
            args, kwargs = self._copy(spec, job_id)
            score, ttl = spec.schedule(now_ms)
            status = job_status(False, score, now_ms)
            queue = spec.queue_name or self.default_queue_name
            meta = JobMetadata(job_id, spec.name, args, kwargs, ms_to_datetime(now_ms), status, queue)
            carrier = None if traces is None else traces[i].carrier
            new.append(_Job(meta, score, now_ms + ttl, carrier=carrier))
        check_distinct_ids(ids)
        with self._lock:
            taken = tuple(i for i in ids if self._live(i) is not None)
            if taken:
                raise ids_taken(taken)
            for job in new:
                self._jobs[job.metadata.id] = job
        # The trace id is the enqueue's answer only: not read back, as from Redis.
        trace_ids = [None] * len(new) if traces is None else [t.trace_id for t in traces]
        return [
            JobMetadata(**{**vars(job.metadata), "trace_id": t})
            for job, t in zip(new, trace_ids, strict=True)
        ]

    def _find(self, job_id: str, queue_name: str | None, running: bool = False) -> tuple[_Job, str]:
        queue = queue_name or self.default_queue_name
        job = self._jobs.get(job_id) if can_name_a_job(job_id) else None
        if job is None or not job.found(timestamp_ms(), queue, running):
            raise job_not_found(job_id, queue)
        return job, queue

    def _metadata(self, job_id: str, queue_name: str | None) -> JobMetadata:
        with self._lock:
            job, queue = self._find(job_id, queue_name)
            return self._describe(job, queue, timestamp_ms())

    @staticmethod
    def _describe(job: _Job, queue: str, now_ms: int) -> JobMetadata:
        """A copy of a job's metadata as read from ``queue`` at ``now_ms``."""
        if job.result is not None:
            return job.result.metadata()
        meta = JobMetadata(**vars(job.metadata))
        meta.status = job_status(job.in_progress, job.score_ms, now_ms)
        meta.queue_name = queue
        return meta

    def _result(self, job_id: str, queue_name: str | None) -> JobResult:
        with self._lock:
            job, _ = self._find(job_id, queue_name)
            if job.result is None:
                status = self._metadata(job_id, queue_name).status
                raise JobResultUnavailable(f"job {job_id!r} is {status.value}; it has no result yet", job_id)
            return job.result

    def _finish(self, job: _Job, success: bool, result: Any, m: JobMetadata | None = None) -> JobResult:
        """Record how ``job`` ended; ``m`` is what the result says of it (by default, its metadata)."""
        now = datetime.now(UTC)
        m = m or job.metadata
        job.in_progress = False
        job.result = JobResult(
            m.id, m.name, m.args, m.kwargs, m.enqueue_time, JobStatus.complete, m.queue_name,
            start_time=job.start_time or now, finish_time=now, success=success, result=result,
            progress=m.progress,
        )  # fmt: skip
        return job.result

    def _abort(self, job_id: str, queue_name: str | None) -> bool:
        with self._lock:
            try:
                job, _ = self._find(job_id, queue_name, running=True)
            except JobNotFound:
                return False
            if job.result is not None:
                return False
            self._finish(job, False, asyncio.CancelledError())
            task = job.task
        if task is not None and not task.done():
            task.get_loop().call_soon_threadsafe(task.cancel)
        return True

    # -- async API -----------------------------------------------------------------------------

    async def enqueue_many(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        return self._enqueue(jobs)

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        return self._abort(job_id, queue_name)

    async def get_job_metadata(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        return self._metadata(job_id, queue_name)

    async def get_job_result(self, job_id: str, queue_name: str | None = None) -> JobResult:
        return self._result(job_id, queue_name)

    def enqueue_many_sync(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        return self._enqueue(jobs)

    def abort_job_sync(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        return self._abort(job_id, queue_name)

    def get_job_metadata_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        return self._metadata(job_id, queue_name)

    def get_job_result_sync(self, job_id: str, queue_name: str | None = None) -> JobResult:
        return self._result(job_id, queue_name)

    # -- test controls -----------------------------------------------------------------------

    async def set_in_progress(self, job_id: str, queue_name: str | None = None) -> None:
        """Mark a queued job as picked up by a worker."""
        with self._lock:
            job, _ = self._find(job_id, queue_name)
            if job.result is not None:
                raise JobNotQueued(f"job {job_id!r} has already finished", job_id)
            job.in_progress = True
            job.start_time = job.start_time or datetime.now(UTC)

    async def set_complete(
        self, job_id: str, *, result: Any, success: bool = True, queue_name: str | None = None
    ) -> JobResult:
        """Finish a job with ``result``, as a worker would."""
        with self._lock:
            job, _ = self._find(job_id, queue_name, running=True)
            return self._finish(job, success, result)

    async def get_job(self, job_id: str, queue_name: str | None = None) -> JobMetadata | JobResult:
        return self.get_job_sync(job_id, queue_name)

    def get_job_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata | JobResult:
        with self._lock:
            job, _ = self._find(job_id, queue_name)
            return job.result if job.result is not None else self._metadata(job_id, queue_name)

    async def count_jobs(self, queue_names: Sequence[str]) -> list[QueueCounts]:
        return self.count_jobs_sync(queue_names)

    def count_jobs_sync(self, queue_names: Sequence[str]) -> list[QueueCounts]:
        """As Redis counts them: a job that expired before a runner reached it is still counted,
        as its entry is in a Redis queue until a worker finishes it."""
        now = timestamp_ms()
        by_queue = {name: dict.fromkeys(JobStatus, 0) for name in queue_names}
        with self._lock:
            for job in self._jobs.values():
                by_status = by_queue.get(job.metadata.queue_name)
                if by_status is not None and job.result is None:
                    by_status[job_status(job.in_progress, job.score_ms, now)] += 1
        counts = []
        for name in queue_names:
            c = by_queue[name]
            counts.append(
                QueueCounts(name, c[JobStatus.queued], c[JobStatus.deferred], c[JobStatus.in_progress])
            )
        return counts

    def jobs(self, queue_name: str | None = None) -> list[JobMetadata]:
        """Metadata of every job the mock holds in a queue (all queues if ``queue_name`` is None),
        as reads find them: a job that expired before it ran is not listed."""
        now = timestamp_ms()
        with self._lock:
            return [
                self._describe(j, j.metadata.queue_name, now)
                for j in self._jobs.values()
                if queue_name in (None, j.metadata.queue_name) and j.found(now, j.metadata.queue_name)
            ]

    async def run_queued(
        self,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        *,
        queue_name: str | None = None,
        include_deferred: bool = False,
    ) -> list[JobResult]:
        """Run every due job of a queue in this process, earliest first, as an arq worker would.

        ``include_deferred`` runs deferred jobs too (each once: a job that asks to be retried later
        waits for its time). A job is tried at most ``MAX_TRIES`` times, as arq's default.

        Functions are looked up in ``functions`` or imported by their dotted name, and called as
        ``fn(ctx, *args, **kwargs)``; sync functions run in another thread, on a database
        connection of their own that is closed after the job. Returns the results.
        """
        queue = queue_name or self.default_queue_name
        progress = _MockProgress(self, self.progress_interval)
        tracer = job_tracer(self.tracing, queue, self._aborted)
        results: list[JobResult] = []
        ran: set[str] = set()  # a job retried later in this call waits for its time, deferred or not
        while True:
            job = self._next_due(queue, include_deferred, ran)
            if job is None:
                return results
            ran.add(job.metadata.id)
            if job.result is not None:  # expired before it was reached
                results.append(job.result)
                continue
            result = await self._run_one(job, functions or {}, progress, tracer)
            if result is not None:
                results.append(result)

    def _next_due(self, queue: str, include_deferred: bool, ran: set[str]) -> _Job | None:
        """The earliest due job of ``queue``, now in progress; or finished, if it had expired."""
        now = timestamp_ms()
        with self._lock:
            due = [
                j for j in self._jobs.values()
                if j.metadata.queue_name == queue and j.result is None and not j.in_progress
                and (j.score_ms <= now or (include_deferred and j.metadata.id not in ran))
            ]  # fmt: skip
            if not due:
                return None
            job = min(due, key=lambda j: j.score_ms)
            expired = not job.alive(now)
            job.in_progress, job.job_try = True, job.job_try + 1
            job.start_time = datetime.now(UTC)
            if expired:
                self._finish_expired(job)
            return job

    def _finish_expired(self, job: _Job) -> None:
        """Fail a job whose time ran out before it started, as arq's worker does: its payload is
        gone, and with it the function, arguments and enqueue time (stored as ``<unknown>``, none,
        and the epoch)."""
        m = job.metadata
        unknown = JobMetadata(m.id, "<unknown>", (), {}, ms_to_datetime(0), JobStatus.complete, m.queue_name)
        self._finish(job, False, JobExecutionFailed("job expired"), unknown)

    def _aborted(self, job_id: str) -> bool:
        """Whether a job whose run was cancelled was aborted (``_abort`` records its result first)."""
        with self._lock:
            job = self._jobs.get(job_id)
            return job is not None and job.result is not None

    async def _run_one(
        self,
        job: _Job,
        functions: Mapping[str, Callable[..., Any]],
        progress: ProgressReports,
        tracer: JobTracer | None,
    ) -> JobResult | None:
        m = job.metadata
        if job.job_try > MAX_TRIES:  # as arq's worker, with its default max_tries
            with self._lock:
                return self._finish(job, False, JobExecutionFailed(f"max {MAX_TRIES} retries exceeded"))
        try:
            fn = functions.get(m.name) or import_string(m.name)
        except ImportError:
            with self._lock:
                return self._finish(job, False, JobExecutionFailed(f"function {m.name!r} not found"))
        ctx = {
            "job_id": m.id, "job_try": job.job_try, "enqueue_time": m.enqueue_time, "score": job.score_ms,
            CTX_KEY: progress,
        }  # fmt: skip
        call = fn if asyncio.iscoroutinefunction(fn) else _in_worker_thread(fn)
        call = checked(call, self.serializer.dumps, self.serializer.loads)  # as a worker stores it
        if tracer is not None:
            call = tracer.traced(m.name, call, lambda: job.carrier)
        progress.job_started(m.id, job.job_try)
        job.task = asyncio.ensure_future(call(ctx, *m.args, **m.kwargs))
        try:
            value = await job.task
        except asyncio.CancelledError:
            if job.result is not None:  # aborted: _abort already recorded the result
                return job.result
            raise  # the runner itself was cancelled
        except Retry as retry:
            with self._lock:
                job.in_progress, job.task = False, None
                job.score_ms = timestamp_ms() + int(retry.defer_score or 0)
            return None
        except Exception as exc:
            with self._lock:
                return self._finish(job, False, exc)
        finally:
            job.task = None
            await progress.job_ended(m.id, None if job.result is not None else WHILE_RUNNING)
        with self._lock:
            if job.result is not None:  # aborted while finishing
                return job.result
            return self._finish(job, True, value)
