"""``DjangoWorker``: arq's ``Worker`` inside Django (connection housekeeping, records, progress,
heartbeats, wake-ups, batched claims, riding out Redis outages)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib.metadata
import inspect
import logging
import os
import pickle
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from arq import Worker
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.db import close_old_connections, connections
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..audit.recorder import JobRecorder
from ..conf import DEFAULT_ALIAS
from ..queues.arq_internals import (
    CronJob,
    Function,
    WorkerCoroutine,
    cron_runs_ms,
    default_queue_name,
    end_burst,
    forget_abort,
    health_check_due_ms,
    in_progress_ms,
    is_aborting,
    job_slot_freed,
    jobs_running_now,
    release_job_slots,
    repack_pool,
    run_timeout,
    running_job_ended,
    running_job_ids,
    running_jobs,
    start_claimed_job,
    take_job_slots,
    timestamp_ms,
    with_coroutine,
)
from ..queues.attempts import ATTEMPTS_TTL, attempts_key, drop_logged, encode_entry, is_logged, new_entry
from ..queues.attempts import CTX_KEY as ATTEMPTS_CTX_KEY
from ..queues.drivers import run_async
from ..queues.exceptions import ArqJobError
from ..queues.heartbeat_task import WORKERS_REDIS, Heartbeat
from ..queues.heartbeats import LOST_AFTER, LostJob, new_worker_id, running_key
from ..queues.idle import IdleWait, next_deferred
from ..queues.job_threads import CTX_KEY as JOB_THREADS_CTX_KEY
from ..queues.protocol import claim_jobs
from ..queues.recycling import Recycling
from ..queues.reporting import CTX_KEY, DEFAULT_INTERVAL, RedisProgress, kept_for_ms
from ..queues.retry_policy import RetryPolicy, retried
from ..queues.storable import checked
from ..queues.timeouts import timed_out
from ..queues.wakeup import WakeUp
from ..schedules import ScheduleFirer
from ..schedules.changes import schedules_channel
from ..tracing import job_tracer

if TYPE_CHECKING:
    from ..metrics.exposition import MetricsServer
    from ..metrics.jobs import JobMetrics


from .containment import contained
from .functions import Coroutine
from .signal_guard import SignalGuard

__all__ = ["REDIS_DOWN", "VERSION", "DjangoWorker", "redis_down"]

#: Seconds between two looks at whether jobs ended since the last tidy of the connections.
TIDY_CHECK_INTERVAL = 1.0
#: Seconds between two tidies of an idle worker's connections.
IDLE_TIDY_INTERVAL = 60.0
#: Seconds between polls while Redis is unreachable.
REDIS_RETRY_DELAY = 1.0
#: Seconds a shutdown waits, at most, for the ends of jobs still being stored when it began.
ENDS_WAIT = 10.0

logger = logging.getLogger("django_arq.worker")
#: Errors that mean Redis cannot be reached (not a job's own failure).
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)


def _version() -> str:
    try:
        return importlib.metadata.version("django-arq")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


#: django-arq's version, as installed; each worker's heartbeat names it.
VERSION = _version()


def redis_down(exc: BaseException) -> bool:
    """Whether ``exc`` means Redis could not be reached; redis-py reports a connection lost during
    WATCH as a ``WatchError`` raised while handling the ``ConnectionError``."""
    return isinstance(exc, REDIS_DOWN) or (
        isinstance(exc, WatchError) and isinstance(exc.__context__, REDIS_DOWN)
    )


class DjangoWorker(Worker):
    """arq's Worker, with Django's connection housekeeping and JobRecord updates."""

    def __init__(
        self,
        functions: Sequence[Function | Coroutine],
        *,
        alias: str = DEFAULT_ALIAS,
        recorder: JobRecorder | None = None,
        progress_interval: float = DEFAULT_INTERVAL,
        cron_jobs: Sequence[CronJob] = (),
        on_startup: Coroutine | None = None,
        on_shutdown: Coroutine | None = None,
        tracing: bool = False,
        metrics: JobMetrics | None = None,
        metrics_server: MetricsServer | None = None,
        lost_after: float = LOST_AFTER,
        max_jobs_per_process: int | None = None,
        max_memory: int | None = None,
        retry_policies: Mapping[str, RetryPolicy] | None = None,
        location: str = WORKERS_REDIS,
        **kwargs: Any,
    ) -> None:
        self.alias = alias
        self.location = location  # its Redis, as errors name it: the backend's URL, password hidden
        self.recorder = recorder
        self.progress_interval = progress_interval
        self.progress: RedisProgress | None = None  # the jobs' progress reports, from startup on
        queue = kwargs.get("queue_name") or default_queue_name
        self.tracer = job_tracer(tracing, queue, partial(is_aborting, self))  # None: no OpenTelemetry
        self.metrics, self.metrics_server = metrics, metrics_server  # the server: started by arq_worker
        self.worker_id = new_worker_id()
        self._started_at = datetime.now(UTC).isoformat()
        self.lost_after = lost_after
        self.heartbeat: Heartbeat | None = None
        self.recycling = Recycling(max_jobs_per_process, max_memory)
        if recorder is not None:
            recorder.worker_id = self.worker_id
        self.retry_policies = retry_policies or {}  # by function name
        self.sync_executor = ThreadPoolExecutor(
            kwargs.get("max_jobs", 10), thread_name_prefix="django-arq-job"
        )
        self.sync_jobs: dict[threading.Thread, str] = {}  # the sync jobs running, by thread
        self.completion_wait = float(kwargs.get("job_completion_wait") or 0)  # arq keeps its own private
        self._user_startup, self._user_shutdown = on_startup, on_shutdown
        self._tidy: asyncio.Task[None] | None = None
        self._redis_down_since: float | None = None
        self._shut_down = False
        self._stopping = False  # arq cancels the running jobs to stop: see handle_sig
        self._ends: set[asyncio.Task[Any]] = set()  # stores of jobs' ends under way (_finishing)
        self._burst_horizon_ms = 0  # a burst also runs the retries of its jobs due before this
        self._wakeup: WakeUp | None = None  # enqueues wake the idle worker (not in burst)
        self._idle: IdleWait | None = None  # when the idle worker polls next (not in burst)
        self._read = self._started = 0  # job ids read and jobs started by the current poll
        self._left = False  # whether the current poll left due jobs for want of a free slot
        self._jobs_tidied = -1  # jobs ended when the connections were last tidied
        self.logged_attempts: dict[str, dict[str, Any]] = {}  # logged at claim, not yet taken, by job id
        kwargs.setdefault("handle_signals", threading.current_thread() is threading.main_thread())
        self.schedules: ScheduleFirer | None = None  # fires the alias's database schedules (not in burst)
        super().__init__(
            [cast(WorkerCoroutine, f) for f in functions],
            cron_jobs=list(cron_jobs) or None,
            on_startup=self._startup,
            on_shutdown=self._shutdown,
            **kwargs,
        )
        # the functions adapted with the settings arq has just read; a cron job is also a function
        crons = {id(c): self._adapt(c) for c in self.cron_jobs}
        self.cron_jobs = [crons[id(c)] for c in self.cron_jobs]
        self.functions = {name: crons.get(id(f)) or self._adapt(f) for name, f in self.functions.items()}
        if self.tracer is not None:  # after _adapt, whose outcome checks read results untraced
            self.job_deserializer = self.tracer.reading(self.job_deserializer or pickle.loads)
        # a job that replaces the handlers arq installed has them put back
        self._signals = SignalGuard() if kwargs["handle_signals"] else None
        if recorder is not None:  # a timed-out job's record names the timeout its run span names
            recorder.timeouts = {name: run_timeout(self, f) for name, f in self.functions.items()}

    # -- job functions -------------------------------------------------------------------------

    def _adapt(self, function: Any) -> Any:
        """The same arq Function or CronJob, its coroutine run off-loop if sync, contained, retried as
        its policy says, its outcome checked storable, recorded."""
        wrapped = contained(self._awaitable(function), function.coroutine)
        policy = self.retry_policies.get(function.name)
        if policy is not None and isinstance(function, Function):
            wrapped = retried(wrapped, policy, function.max_tries or self.max_tries)
        # checked as arq stores it: with its serializer, if it keeps the result at all
        dumps = (self.job_serializer or pickle.dumps) if self._keeps_results(function) else None
        wrapped = checked(wrapped, dumps, self.job_deserializer or pickle.loads, shown=self.log_results)
        if self.metrics is not None:
            wrapped = self.metrics.metered(function.name, wrapped, partial(is_aborting, self))
        recorded = self._recorded(function.name, self._reporting(wrapped))
        if self.tracer is not None:
            recorded = self.tracer.traced(
                function.name, recorded, timed_out=partial(self._timed_out, function)
            )
        return with_coroutine(function, recorded)

    def _keeps_results(self, function: Function | CronJob) -> bool:
        """Whether arq stores the results of ``function`` (a cron job's by default not)."""
        forever, keep_s = function.keep_result_forever, function.keep_result_s
        if forever is None:
            forever = self.keep_result_forever
        return bool(forever) or (self.keep_result_s if keep_s is None else keep_s) > 0

    def _timed_out(self, function: Function | CronJob) -> TimeoutError | None:
        """The error of a cancelled run of ``function``, if its timeout stopped it (not an abort,
        which the tracer tells first, nor the worker's shutdown)."""
        return timed_out(run_timeout(self, function), self._stopping)

    def _awaitable(self, function: Function | CronJob) -> Coroutine:
        fn = function.coroutine
        if inspect.iscoroutinefunction(fn):
            return fn
        running = self.sync_jobs

        def run_sync(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            thread = threading.current_thread()
            running[thread] = f"job {ctx.get('job_id')} {function.name}"  # named if it outlives the worker
            close_old_connections()  # as Django does around a request
            try:
                return fn(ctx, *args, **kwargs)
            finally:
                close_old_connections()
                running.pop(thread, None)

        return sync_to_async(run_sync, thread_sensitive=False, executor=self.sync_executor)

    def _reporting(self, fn: Coroutine) -> Coroutine:
        """``fn``, whose progress reports are taken from the start of each try (until ``finish_job``
        ends it; a report after that is ignored)."""

        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            if self.progress is not None:
                self.progress.job_started(ctx["job_id"], ctx.get("job_try"))
            return await fn(ctx, *args, **kwargs)

        return run

    def _recorded(self, name: str, fn: Coroutine) -> Coroutine:
        recorder = self.recorder
        if recorder is None:
            return fn

        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            job_id = ctx["job_id"]
            recorder.job_started(ctx, name, args, kwargs)
            try:
                result = await fn(ctx, *args, **kwargs)
            except BaseException as exc:
                recorder.job_raised(job_id, exc, aborted=is_aborting(self, job_id))
                raise
            recorder.job_returned(job_id, result)
            return result

        return run

    # -- arq hooks -----------------------------------------------------------------------------

    async def _startup(self, ctx: dict[str, Any]) -> None:
        # arq's pool, its commands packed in C from here on (no connection is in use yet): a worker
        # sends some 18 commands per job, and redis-py's asyncio client packs them in Python.
        await repack_pool(ctx)
        ctx["alias"] = self.alias
        ctx[ATTEMPTS_CTX_KEY] = self.logged_attempts
        ctx[JOB_THREADS_CTX_KEY] = self.sync_executor  # the Django tasks runner's sync code runs there too
        self.progress = ctx[CTX_KEY] = RedisProgress(
            ctx["redis"],
            running_ttl_ms=in_progress_ms(self) + int(self.keep_result_s * 1000),
            interval=self.progress_interval,
            on_stored=self.recorder.job_progressed if self.recorder is not None else None,
        )
        self._tidy = asyncio.create_task(self._tidy_connections(), name="django-arq-connections")
        if self.recorder is not None:
            self.recorder.start()
        self.heartbeat = Heartbeat(
            ctx["redis"],
            self.queue_name,
            self.worker_id,
            self.lost_after,
            self.describe,
            self._jobs_lost,
            location=self.location,
        )
        self.heartbeat.start()
        if not self.burst:
            edits = asyncio.Event()  # announced edits of the alias's schedules, heard with the wake-ups
            self._wakeup = WakeUp(ctx["redis"], self.queue_name, also={schedules_channel(self.alias): edits})
            self._wakeup.start()
            self.schedules = ScheduleFirer(self.alias, edits=edits, hearing=self._wakeup.subscribed)
            self.schedules.start()
            self._idle = IdleWait(self.queue_name, self.poll_delay_s)
        if self._user_startup is not None:
            await self._user_startup(ctx)

    async def _tidy_connections(self) -> None:
        """Let the async ORM's thread drop obsolete connections, as between requests: soon after
        jobs ended (within ``TIDY_CHECK_INTERVAL``), else every ``IDLE_TIDY_INTERVAL`` (an idle
        worker stays idle)."""
        idle = 0.0
        while True:
            await asyncio.sleep(TIDY_CHECK_INTERVAL)
            ended = self.jobs_complete + self.jobs_failed + self.jobs_retried
            idle += TIDY_CHECK_INTERVAL
            if ended != self._jobs_tidied or idle >= IDLE_TIDY_INTERVAL:
                self._jobs_tidied, idle = ended, 0.0
                await sync_to_async(close_old_connections)()

    def describe(self) -> dict[str, Any]:
        """What this worker's heartbeat says of it."""
        return {
            "alias": self.alias,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": [self.queue_name],
            "started": self._started_at,
            "running": running_job_ids(self),
            "done": self.jobs_complete,
            "failed": self.jobs_failed,
            "retried": self.jobs_retried,
            "version": VERSION,
            "recycling": self.recycling.reason,
        }

    async def _jobs_lost(self, jobs: list[LostJob]) -> None:
        if self.metrics is not None:
            self.metrics.jobs_lost(len(jobs))
        if self.recorder is not None:
            await self.recorder.jobs_lost(jobs)

    async def _shutdown(self, ctx: dict[str, Any]) -> None:
        self._shut_down = True
        if self._ends:  # ends of jobs being stored when a stop ended their runs: recorded first
            await asyncio.wait(set(self._ends), timeout=ENDS_WAIT)
        if self._tidy is not None:
            self._tidy.cancel()
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        if self._wakeup is not None:
            await self._wakeup.close()
        try:
            if self._user_shutdown is not None:
                await self._user_shutdown(ctx)
        finally:
            if self.schedules is not None:
                await self.schedules.stop()
            if self.recorder is not None:
                await self.recorder.close()
            # sync jobs that outlive their cancellation are not waited for: arq_worker names them
            self.sync_executor.shutdown(wait=False, cancel_futures=True)

    # -- running -------------------------------------------------------------------------------

    def run(self) -> None:
        """arq's ``run()`` (the worker until it stops, then ``close()``), in a context of its own;
        the loop stopped by a job (``loop.stop()``) is run on."""
        run = self.loop.create_task(self._isolated(self._run_and_close))
        while True:
            try:
                self.loop.run_until_complete(run)
                return
            except RuntimeError:  # "Event loop stopped before Future completed."
                if run.done() or self.loop.is_running():
                    raise
                logger.warning(
                    "the event loop was stopped (loop.stop()) while %s ran: the worker runs on",
                    self._jobs_running(),
                )

    async def async_run(self) -> None:
        """arq's ``async_run()``, in a context of its own; ``close()`` is left to the caller."""
        await self._isolated(super().async_run)

    async def _run_and_close(self) -> None:
        try:
            await super().async_run()
        except asyncio.CancelledError:  # stopped by a signal, as arq's run() allows
            pass
        finally:
            await self.close()

    async def _isolated(self, run: Callable[[], Awaitable[None]]) -> None:
        """Run the worker in an empty ``contextvars`` context, with a thread of its own for the
        thread-sensitive sync code of its jobs: whoever runs it (an async caller through
        ``sync_to_async``, a test's event loop) may hold asgiref's thread, and a context copied
        from them would send that code to it ("would deadlock", "cannot submit onto
        CurrentThreadExecutor from its own thread")."""

        async def isolated() -> None:
            async with ThreadSensitiveContext():
                try:
                    await run()
                finally:  # the database connections of that thread, before it goes
                    await sync_to_async(connections.close_all)()

        await asyncio.get_running_loop().create_task(isolated(), context=contextvars.Context())

    def _jobs_running(self) -> str:
        """The running jobs, for a warning."""
        ids = running_job_ids(self)
        return f"job{'s' if len(ids) > 1 else ''} {', '.join(ids)}" if ids else "no job"

    async def _poll_iteration(self) -> None:
        """Poll until ``poll_delay`` has passed: at once again while reads come back full, else when
        a job slot frees up for jobs waiting, or an enqueue wakes the worker; arq's own sleep between
        two calls is then nil. An idle worker waits longer, as ``queues/idle.py`` says. A burst
        worker (no wake-ups) polls again when a job ends instead.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = start + self.poll_delay_s
        while True:
            if not await job_slot_freed(self, end - loop.time()):
                return  # every slot busy until the end of this poll
            if self._wakeup is not None:
                self._wakeup.clear()
            self._read = self._started = 0
            self._left = False
            await self._poll_once()
            if self._left or (self._read >= self.queue_read_limit and self._started):
                continue  # due jobs left for want of a slot, or a full read: more are probably due
            if self._wakeup is None:  # a burst: on when a job ends (the last may end the burst)
                if not await running_job_ended(self, end - loop.time()):
                    return
                continue
            idle = await self._idle_seconds()
            now = loop.time()
            end = now + idle if idle is not None else min(end, now + self.poll_delay_s)
            if await self._wakeup.wait(end - loop.time()):
                if self._idle is not None:
                    self._idle.changed()  # an enqueue, perhaps of a deferred job
            elif loop.time() - start >= self.poll_delay_s:
                return  # else a deferred job came due before arq's sleep would end: poll now

    async def _idle_seconds(self) -> float | None:
        """Seconds this worker may wait for a wake-up before it polls again, if it is idle (no job
        running or just started, subscribed to its wake channel); else None: ``poll_delay``."""
        idle, wakeup = self._idle, self._wakeup
        if idle is None or wakeup is None:
            return None
        if self._started or running_jobs(self) or not wakeup.subscribed.is_set():
            idle.changed()  # a job may defer a retry, or a job to come
            return None
        now = timestamp_ms()
        if idle.read_needed(now, cron_runs_ms(self)):
            try:
                idle.read(await run_async(next_deferred(self.queue_name, now), self.pool, self.location))
            except (ArqJobError, RedisError, OSError):  # the next poll meets the outage
                return None
        return idle.seconds(now, health_check_due_ms(self))

    async def _cancel_aborted_jobs(self) -> None:
        """arq's abort check, skipped while no job function runs: a queued job's abort is seen
        when it starts."""
        if jobs_running_now(self):
            await super()._cancel_aborted_jobs()

    async def _poll_once(self) -> None:
        """arq's poll, riding out a Redis outage: arq's worker would stop at the first failed command.

        A burst worker stops once nothing is running and no job is due, where arq waits for every
        job in the queue, deferred ones included.
        """
        if self._signals is not None:
            self._signals.restore(self._jobs_running)
        try:
            await super()._poll_iteration()
            if self.burst and not running_jobs(self) and not await self._due_jobs():
                end_burst(self)
        except (RedisError, OSError) as exc:
            if not redis_down(exc):
                raise
            if self._redis_down_since is None:
                self._redis_down_since = time.monotonic()
                logger.warning("Redis is unreachable (%s): retrying every %.0f s", exc, REDIS_RETRY_DELAY)
            await asyncio.sleep(REDIS_RETRY_DELAY)
        else:
            if self._redis_down_since is not None:
                down = time.monotonic() - self._redis_down_since
                logger.warning("Redis is reachable again after %.1f s", down)
                self._redis_down_since = None

    async def _due_jobs(self) -> int:
        """Jobs in the queue that are due now, or by the time the latest retry of this run is."""
        horizon = max(timestamp_ms(), self._burst_horizon_ms)
        return int(await self.pool.zcount(self.queue_name, "-inf", horizon))

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's start_jobs, claiming as many jobs as there are free slots in one script call
        (arq makes four round trips per job); a Redis failure gives the slots back."""
        self._read += len(job_ids)
        if self.recycling.due:
            return
        pending = [i.decode() for i in job_ids]
        while pending:
            slots = await take_job_slots(self, len(pending))
            if not slots:  # every slot busy: the rest wait for the next read, as in arq
                self._left = True
                return
            batch, pending = pending[:slots], pending[slots:]
            logs = [attempts_key(i) if is_logged(i) else "" for i in batch]
            attempt = new_entry() if any(logs) else None
            try:
                claimed = await run_async(
                    claim_jobs(
                        self.queue_name,
                        batch,
                        in_progress_ms(self),
                        self.worker_id,
                        running_key(self.worker_id),
                        logs,
                        encode_entry(attempt) if attempt is not None else "",
                        ATTEMPTS_TTL,
                    ),
                    self.pool,
                    self.location,
                )
            except BaseException as exc:
                release_job_slots(self, slots)
                if isinstance(exc, ArqJobError) and isinstance(exc.__cause__, RedisError | OSError):
                    raise exc.__cause__ from None  # as the poll's outage handling expects it
                raise
            for job_id, score in claimed:
                if attempt is not None and is_logged(job_id):
                    self.logged_attempts[job_id] = attempt
                start_claimed_job(self, job_id, score)
            self._started += len(claimed)
            release_job_slots(self, slots - len(claimed))

    async def run_job(self, job_id: str, score: int) -> None:
        """arq's run_job; Redis failing around the job is logged here, not raised at a later poll,
        and a stop that cancels the run outside the job function ends it."""
        try:
            await super().run_job(job_id, score)
        except asyncio.CancelledError:
            # arq handles a cancelled job function itself; a stop that comes while it reads the job
            # or stores its end (a step it shields, which goes on: see _shutdown) would leave this
            # task cancelled, and arq's close() would raise on it before on_shutdown.
            pass
        except (RedisError, OSError) as exc:
            if not redis_down(exc):
                raise
            logger.warning("job %s: Redis unreachable while starting or finishing it (%s)", job_id, exc)
        finally:
            if self._signals is not None:
                self._signals.restore(lambda: f"job {job_id}")
            self.logged_attempts.pop(job_id, None)  # a run that ended before its job took it
            forget_abort(self, job_id)  # an abort the job took back (a settled Django task's)
            if self.heartbeat is not None:
                self.heartbeat.job_done(job_id)
            if self.recycling.job_ended():
                logger.warning(
                    "worker %s: %s; finishing its jobs, then exiting", self.worker_id, self.recycling.reason
                )
                self.burst = True  # arq's main() returns once the running jobs end
                end_burst(self)

    def handle_sig(self, signum: signal.Signals) -> None:
        """arq's stop on a signal, or at ``close()`` without signal handlers: it cancels the running
        jobs, which then see a cancellation that is not their timeout's."""
        self._stopping = True
        super().handle_sig(signum)

    async def _sleep_until_tasks_complete(self) -> None:
        """arq's wait for the running jobs to end after a signal (``job_completion_wait``, with
        ``handle_sig_wait_for_completion``): a job that its timeout stops meanwhile is timed out;
        the jobs still running when it ends are cancelled next, to stop."""
        try:
            await super()._sleep_until_tasks_complete()
        finally:
            self._stopping = True

    async def close(self) -> None:
        """arq's close, in a context of its own as the run (for the ON_SHUTDOWN hook); if Redis is
        unreachable, the shutdown hook (last JobRecord flush) still runs."""
        await self._isolated(self._close)

    async def _close(self) -> None:
        try:
            await super().close()
        except (RedisError, OSError) as exc:
            logger.warning("Redis is unreachable at shutdown (%s)", exc)
            if not self._shut_down:
                await self._shutdown(self.ctx)
            if self._pool is not None:
                await self._pool.close(close_connection_pool=True)
                self._pool = None

    async def finish_job(
        self,
        job_id: str,
        finish: bool,
        result_data: bytes | None,
        result_timeout_s: float | None,
        keep_result_forever: bool,
        incr_score: int | None,
        keep_in_progress: float | None,
    ) -> None:
        async with self._finishing():
            await super().finish_job(
                job_id,
                finish,
                result_data,
                result_timeout_s,
                keep_result_forever,
                incr_score,
                keep_in_progress,
            )
            if self.progress is not None:  # the last report stored, with the lifetime of the result
                result_kept = bool(result_data) and (keep_result_forever or bool(result_timeout_s))
                keep_ms = kept_for_ms(finish, result_kept, result_timeout_s, keep_result_forever)
                await self.progress.job_ended(job_id, keep_ms)
            if self.burst and not finish and incr_score:  # retried later: this run waits for it
                score = await self.pool.zscore(self.queue_name, job_id)
                self._burst_horizon_ms = max(self._burst_horizon_ms, int(score or 0))
        if self.recorder is not None:
            try:
                self.recorder.job_ended(job_id, finish, bool(incr_score), self.job_timeout_s, result_data)
            except Exception as exc:  # a value that defeats every description: the worker goes on
                self.recorder.end_not_described(job_id, finish, exc)
        if self.metrics is not None:
            self.metrics.job_ended(job_id, finish)

    @contextlib.asynccontextmanager
    async def _finishing(self) -> AsyncIterator[None]:
        """The current task (arq's shielded store of a job's end) noted while it runs: a stop does
        not cancel it, and the shutdown waits for it before the last record flush."""
        task = asyncio.current_task()
        if task is not None:
            self._ends.add(task)
        try:
            yield
        finally:
            self._ends.discard(task)

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None:
        async with self._finishing():
            await super().finish_failed_job(job_id, result_data)
            if self.logged_attempts.pop(job_id, None) is not None:  # failed before it started
                await run_async(drop_logged(job_id), self.pool, self.location)
        if self.recorder is not None:
            self.recorder.job_failed_early(job_id, result_data)
        if self.metrics is not None:
            self.metrics.job_failed_early(job_id, result_data)
