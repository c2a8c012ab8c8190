"""Every private or undocumented part of arq that django-arq relies on, in one place.

arq documents ``create_pool``/``ArqRedis``/``RedisSettings``, ``cron()``, ``Job``/``JobStatus``,
``func()``/``Retry`` and the ``Worker``'s constructor arguments and ``run``/``async_run`` methods.
The parts below are arq's own code, free to change in any release. django-arq reaches them through
this module only, and ``tests/worker/test_arq_internals.py`` pins each one (names, signatures,
dataclass fields, attributes), so that an arq upgrade that moves one fails there, in one place.

Redis layout and payloads (the queues' protocol, the mock, the tasks backend, the recorder, the API):

- ``arq.constants``: ``job_key_prefix``, ``in_progress_key_prefix``, ``result_key_prefix``,
  ``retry_key_prefix``, ``abort_jobs_ss``, ``health_check_key_suffix``, ``default_queue_name``,
  ``expires_extra_ms``.
- ``arq.jobs``: ``serialize_job``, ``deserialize_job``, ``deserialize_result``,
  ``DeserializationError``.
- ``arq.utils``: ``timestamp_ms``, ``ms_to_datetime``, ``to_ms``, ``to_unix_ms``.
- ``arq.worker.JobExecutionFailed``: what arq stores for a job it could not run, and
  ``UNSERIALIZABLE_RESULT``, the text it stores for a result it could not serialize.
- The text of the health report ``Worker.record_health()`` writes to ``<queue>:health-check``
  (``"<Mon-DD HH:MM:SS> j_complete=.. j_failed=.. j_retried=.. j_ongoing=.. queued=.."``), read by
  ``queues/health.py``.

The worker (``DjangoWorker`` and ``manage.py arq_worker``):

- ``arq.worker.Function`` is a dataclass with the fields of ``FUNCTION_FIELDS``; ``make_function``
  builds one by keyword for a sync function, which ``func()`` refuses.
- ``arq.cron.CronJob`` is a dataclass with a ``coroutine`` field; ``with_coroutine`` swaps the
  coroutine of a ``Function`` or ``CronJob`` (to run a sync function off-loop, and record it). Its
  ``next_run`` field (a datetime, None until planned) is when arq enqueues it next, which
  ``cron_runs_ms`` reads so that an idle worker polls in time for it.
- ``Worker`` methods that ``DjangoWorker`` overrides, with the parameters of ``OVERRIDDEN``:
  ``run`` and ``async_run`` (a context of its own), ``_poll_iteration`` (polls woken by
  enqueues, Redis outages, the burst exit), ``_cancel_aborted_jobs`` (skipped while no job runs),
  ``start_jobs`` (jobs claimed by one script call per batch of free slots), ``run_job``,
  ``finish_job`` and ``finish_failed_job`` (JobRecord updates), ``close`` (a context of its own;
  Redis down at shutdown), ``handle_sig`` and ``_sleep_until_tasks_complete`` (the worker notes
  that it is stopping, so that a job's run span tells a shutdown from its timeout). arq cancels
  running jobs in three places besides an abort and a job's own timeout: ``handle_sig`` (a signal,
  or ``close()`` when the worker handles none; it cancels ``main_task`` too, whose burst-end
  ``gather`` of the jobs would cancel them), and ``_wait_for_tasks_to_complete`` (after
  ``handle_sig_wait_for_completion``), once its ``wait_for`` of ``_sleep_until_tasks_complete``
  ends. The burst end, ``max_burst_jobs`` and recycling wait for the running jobs, never cancel.
- ``Worker`` attributes read or set (``ATTRIBUTES``): ``tasks`` (running jobs by id),
  ``job_tasks`` (running job functions), ``in_progress_timeout_s`` (the lifetime arq gives an
  in-progress key), ``queue_read_limit``, ``run_job(job_id, score)`` (started for each claimed
  job), ``aborting_tasks`` (the ids of jobs cancelled for an abort; arq drops one only when the abort
  ends its job), ``job_counter`` and ``sem`` (a job slot, given back by
  ``_release_sem_dec_counter_on_complete()``), ``_pool`` and ``pool``, ``loop``, ``ctx``,
  ``queue_name``, ``burst``, ``job_timeout_s`` (``run_job`` awaits a job function's task with
  ``asyncio.wait_for`` for its ``timeout_s``, else that, and fails the job with the
  ``TimeoutError``: ``run_timeout``); for the command's banner and ``--check``,
  ``functions``, ``cron_jobs``, ``max_jobs``, ``max_tries``, ``keep_result_s``, ``poll_delay_s``,
  ``allow_abort_jobs``, ``health_check_interval``, ``redis_settings`` and the job counters;
  ``_last_health_check`` (when ``record_health`` last wrote, by ``time()``), which
  ``health_check_due_ms`` reads so that an idle worker polls in time to write the next one.
- The burst exit: after each poll ``Worker.main()`` returns (once its running jobs end) when
  ``0 <= max_burst_jobs <= _jobs_started()``; ``end_burst`` lowers ``max_burst_jobs`` to get there.
- ``Worker.main()`` makes its pool with ``create_pool`` (which pings, so one connection is open)
  and hands it to ``on_startup`` as ``ctx["redis"]`` before its first poll: ``repack_pool`` switches
  that pool to commands packed by hiredis there.
- ``arq.logs.default_log_config(verbose)``, the command's logging when the project sets none;
  ``arq.typing.WorkerCoroutine``, the type of a job function; ``arq.typing.WEEKDAYS``, the weekday
  names ``next_cron`` looks up (``mon``, ``tues``, ...).

Imported directly elsewhere, being documented: ``arq.Worker``, ``arq.func``, ``arq.cron``,
``arq.Retry``, ``arq.create_pool``, ``arq.connections.RedisSettings``, ``arq.jobs.JobStatus``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from arq.constants import (
    abort_jobs_ss,
    default_queue_name,
    expires_extra_ms,
    health_check_key_suffix,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.cron import CronJob
from arq.jobs import DeserializationError, deserialize_job, deserialize_result, serialize_job
from arq.logs import default_log_config
from arq.typing import WEEKDAYS, WorkerCoroutine
from arq.utils import ms_to_datetime, timestamp_ms, to_ms, to_unix_ms
from arq.worker import Function, JobExecutionFailed, Worker

from .connection import repack_in_c

__all__ = [
    "ATTRIBUTES",
    "FUNCTION_FIELDS",
    "OVERRIDDEN",
    "UNSERIALIZABLE_RESULT",
    "WEEKDAYS",
    "CronJob",
    "DeserializationError",
    "Function",
    "JobExecutionFailed",
    "WorkerCoroutine",
    "abort_jobs_ss",
    "cron_runs_ms",
    "default_log_config",
    "default_queue_name",
    "deserialize_job",
    "deserialize_result",
    "end_burst",
    "expires_extra_ms",
    "forget_abort",
    "give_back_job_slot",
    "health_check_due_ms",
    "health_check_key_suffix",
    "in_progress_key_prefix",
    "in_progress_ms",
    "is_aborting",
    "job_key_prefix",
    "job_slot_freed",
    "jobs_running_now",
    "make_function",
    "ms_to_datetime",
    "release_job_slots",
    "repack_pool",
    "result_key_prefix",
    "retry_key_prefix",
    "run_timeout",
    "running_job",
    "running_job_ended",
    "running_job_ids",
    "running_jobs",
    "serialize_job",
    "start_claimed_job",
    "take_job_slots",
    "timestamp_ms",
    "to_ms",
    "to_unix_ms",
    "with_coroutine",
]

#: What arq stores as the result (with success false) of a job whose result it cannot serialize.
UNSERIALIZABLE_RESULT = "unable to serialize result"
#: The fields of arq's ``Function`` dataclass, in order.
FUNCTION_FIELDS = ("name", "coroutine", "timeout_s", "keep_result_s", "keep_result_forever", "max_tries")
#: ``Worker`` methods that ``DjangoWorker`` overrides, and their parameters after ``self``.
OVERRIDDEN: dict[str, tuple[str, ...]] = {
    "run": (),
    "async_run": (),
    "_poll_iteration": (),
    "_cancel_aborted_jobs": (),
    "start_jobs": ("job_ids",),
    "run_job": ("job_id", "score"),
    "finish_job": (
        "job_id",
        "finish",
        "result_data",
        "result_timeout_s",
        "keep_result_forever",
        "incr_score",
        "keep_in_progress",
    ),
    "finish_failed_job": ("job_id", "result_data"),
    "close": (),
    "handle_sig": ("signum",),
    "_sleep_until_tasks_complete": (),
}
#: ``Worker`` attributes (set by its ``__init__``) that django-arq reads or sets.
ATTRIBUTES = (
    "tasks",
    "job_tasks",
    "in_progress_timeout_s",
    "queue_read_limit",
    "aborting_tasks",
    "job_counter",
    "sem",
    "max_burst_jobs",
    "_pool",
    "_last_health_check",
    "pool",
    "loop",
    "ctx",
    "queue_name",
    "burst",
    "job_timeout_s",
    "functions",
    "cron_jobs",
    "max_jobs",
    "max_tries",
    "keep_result_s",
    "poll_delay_s",
    "allow_abort_jobs",
    "health_check_interval",
    "redis_settings",
    "jobs_complete",
    "jobs_failed",
    "jobs_retried",
)

JobFunction = TypeVar("JobFunction", Function, CronJob)


def make_function(
    name: str,
    coroutine: Callable[..., Any],
    *,
    max_tries: int | None = None,
    timeout_s: float | None = None,
    keep_result_s: float | None = None,
) -> Function:
    """arq's ``Function`` for ``coroutine`` under ``name``, with the given options (None: the
    worker's); unlike ``func()``, ``coroutine`` may be a sync function (the worker runs it off-loop)."""
    return Function(
        name=name,
        coroutine=coroutine,
        timeout_s=timeout_s,
        keep_result_s=keep_result_s,
        keep_result_forever=None,
        max_tries=max_tries,
    )


def with_coroutine(function: JobFunction, coroutine: Callable[..., Any]) -> JobFunction:
    """The same ``Function`` or ``CronJob``, calling ``coroutine`` instead."""
    return dataclasses.replace(function, coroutine=coroutine)


def running_job(worker: Worker, job_id: str) -> asyncio.Task[Any] | None:
    """The task in which ``worker`` runs job ``job_id`` (claimed and not yet finished), if any."""
    return worker.tasks.get(job_id)


def running_job_ids(worker: Worker) -> list[str]:
    """The ids of the jobs ``worker`` has claimed and not yet seen finish."""
    return list(worker.tasks)


def cron_runs_ms(worker: Worker) -> list[int]:
    """When each of ``worker``'s cron jobs is next due (Unix ms), of those arq has planned."""
    return [to_unix_ms(job.next_run) for job in worker.cron_jobs if job.next_run is not None]


def health_check_due_ms(worker: Worker) -> int:
    """When ``worker``'s poll next writes arq's health check (Unix ms)."""
    return int((worker._last_health_check + worker.health_check_interval) * 1000)


def running_jobs(worker: Worker) -> int:
    """How many jobs ``worker`` has claimed and not yet seen finish."""
    return len(worker.tasks)


def is_aborting(worker: Worker, job_id: str) -> bool:
    """Whether ``worker`` cancelled job ``job_id`` because an abort was requested."""
    return job_id in worker.aborting_tasks


def forget_abort(worker: Worker, job_id: str) -> None:
    """Forget that ``worker`` cancelled job ``job_id`` for an abort: arq does so only when the
    cancellation ends the job, not when the job takes it back and ends otherwise."""
    worker.aborting_tasks.discard(job_id)


def give_back_job_slot(worker: Worker) -> None:
    """Return a job slot taken by ``start_jobs`` for a job that never started."""
    worker._release_sem_dec_counter_on_complete()


async def take_job_slots(worker: Worker, wanted: int) -> int:
    """Take the job slots free now, up to ``wanted``; how many (0 when every slot is busy).

    arq's semaphore has one permit more than ``max_jobs``; ``job_counter`` counts the slots in use.
    """
    free = min(wanted, worker.max_jobs - worker.job_counter)
    taken = 0
    while taken < free and not worker.sem.locked():
        await worker.sem.acquire()
        taken += 1
    return taken


def release_job_slots(worker: Worker, count: int) -> None:
    """Give back ``count`` slots taken by ``take_job_slots`` for jobs that were not started."""
    for _ in range(count):
        worker.sem.release()


async def job_slot_freed(worker: Worker, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds for a job slot to be free; True if one is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while worker.job_counter >= worker.max_jobs:
        remaining = deadline - loop.time()
        running = [task for task in worker.tasks.values() if not task.done()]
        if remaining <= 0:
            return False
        if running:
            await asyncio.wait(running, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(0)  # the finished jobs' callbacks give their slots back
    return True


async def running_job_ended(worker: Worker, timeout: float) -> bool:
    """Wait at most ``timeout`` seconds for one of the worker's running jobs to end; True if one did
    (False at once when none runs)."""
    running = [task for task in worker.tasks.values() if not task.done()]
    if not running or timeout <= 0:
        return False
    done, _ = await asyncio.wait(running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    await asyncio.sleep(0)  # the finished jobs' callbacks give their slots back
    return bool(done)


def start_claimed_job(worker: Worker, job_id: str, score: int) -> None:
    """Run a job whose in-progress key this worker set, in a slot taken by ``take_job_slots``,
    as arq's ``start_jobs`` does after its own claim."""
    worker.job_counter += 1
    task = worker.loop.create_task(worker.run_job(job_id, score))
    task.add_done_callback(lambda _: worker._release_sem_dec_counter_on_complete())
    worker.tasks[job_id] = task


def run_timeout(worker: Worker, function: Function | CronJob) -> float | None:
    """How long arq lets a run of ``function`` last (seconds; None: without end): the function's
    own timeout, else the worker's ``job_timeout``."""
    return worker.job_timeout_s if function.timeout_s is None else function.timeout_s


def in_progress_ms(worker: Worker) -> int:
    """How long a claimed job's in-progress key lives, as arq sets it (milliseconds)."""
    return int(worker.in_progress_timeout_s * 1000)


def jobs_running_now(worker: Worker) -> bool:
    """Whether a job function of ``worker`` is running (arq's abort check cancels only those)."""
    return bool(worker.job_tasks)


def end_burst(worker: Worker) -> None:
    """Make a burst worker's ``main()`` return after its next poll, once its running jobs end (arq's
    own ``max_burst_jobs`` exit, reached by lowering the limit to the jobs started so far)."""
    worker.max_burst_jobs = worker._jobs_started()


async def repack_pool(ctx: dict[str, Any]) -> None:
    """In the worker's ``on_startup``: arq's pool packs commands in C from here on (no connection
    of it is in use yet)."""
    await repack_in_c(ctx["redis"])
