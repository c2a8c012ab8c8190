"""The run of one Django task around its function, written once, and its driver.

``lifecycle`` is a generator free of I/O and threads (as ``queues.protocol`` is): it yields
``Step``s (get the attempt log unless the run has it, send ``task_started``, call the task
function, send ``task_finished``) and receives their outcomes. ``drive`` awaits the steps marked
``on_loop`` (the attempt log's Redis call, a coroutine task's call) and performs each run of the others in
one of the worker's job threads: a sync task, with its signals, costs one thread hop; a coroutine
task two. A signal whose only receivers are Django's own log ones is sent on the loop, without a hop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from traceback import format_exception
from typing import Any

from arq import Retry
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.dispatch import Signal
from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus
from django.tasks.base import TaskError
from django.tasks.signals import log_task_finished, log_task_started, task_finished, task_started

from ..queues.describe import class_path
from ..queues.retry_policy import checked_retry
from .common import TaskFailed, json_value, task_times

__all__ = ["Attempts", "Run", "Step", "drive", "lifecycle"]


@dataclass(frozen=True, slots=True)
class Step:
    """Work for the driver: sync code for a worker thread, or (``coroutine``) an awaitable's maker;
    with a ``timeout``, awaited on the loop for at most that long (sync code in a hop of its own to
    one of the worker's job threads, which runs on past the timeout); with a ``signal``, ``work``
    sends it."""

    work: Callable[[], Any]
    coroutine: bool = False
    timeout: float | None = None
    signal: Signal | None = None

    @property
    def on_loop(self) -> bool:
        return self.coroutine or self.timeout is not None


Lifecycle = Generator[Step, Any, Any]
#: The attempt log of a run, oldest first, or a coroutine function that logs the attempt and returns it.
Attempts = list[dict[str, Any]] | Callable[[], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class Run:
    """What ``lifecycle`` needs to know of one run of a task."""

    task: Task
    sender: type  # of task_started and task_finished: the backend's class
    job_id: str
    enqueued_at: datetime | None
    args: list[Any]
    kwargs: dict[str, Any]
    backend: str
    attempts: Attempts
    coroutine: bool  # whether the task function is a coroutine function (run on the loop)
    text_keys: bool = False  # whether the result's dict keys are written as text (a JSON serializer)
    timeout: float | None = None  # of the call (the task's TIMEOUT option)
    retry_after: Callable[[BaseException], float | None] | None = None  # its RETRY_ON: defer, or None


def _set(result: TaskResult, **changes: Any) -> None:
    for name, value in changes.items():
        object.__setattr__(result, name, value)


def lifecycle(run: Run, settle: Callable[[], bool]) -> Lifecycle:
    """Log the attempt, send the signals around the call, and return the JSON-normalised value.

    Once the call has returned or raised, ``settle()`` decides how the run ends: as its job's
    cancellation (false: an abort, its timeout or a stop came first), raised as ``CancelledError``
    with no ``task_finished``; else as the task did, whatever cancellation comes later.
    A failure is raised as ``TaskFailed`` (class path and traceback), whatever the task raised:
    ``SystemExit``, ``KeyboardInterrupt`` and a ``CancelledError`` of the task's own too, which fail
    the task (as Django's ImmediateBackend records them) and leave the worker running.
    ``arq.Retry`` passes through so that arq runs the task again later, unless its delay is one arq
    cannot keep (``checked_retry``).
    """
    attempts = run.attempts if isinstance(run.attempts, list) else (yield Step(run.attempts, coroutine=True))
    try:
        result: TaskResult[..., Any] = TaskResult(
            task=run.task,
            id=run.job_id,
            status=TaskResultStatus.RUNNING,
            **task_times(run.enqueued_at, attempts),
            args=run.args,
            kwargs=run.kwargs,
            backend=run.backend,
            errors=[],
            worker_ids=[a["worker_id"] for a in attempts],
        )
    except Exception as unbuilt:  # arguments Django cannot rebuild (enqueued around ArqBackend): not started
        raise TaskFailed(class_path(type(unbuilt)), "".join(format_exception(unbuilt))) from unbuilt
    yield Step(partial(task_started.send, run.sender, task_result=result), signal=task_started)
    args = [TaskContext(task_result=result), *result.args] if run.task.takes_context else result.args
    function = partial(run.task.func, *args, **result.kwargs)
    try:
        value = json_value((yield Step(function, run.coroutine, run.timeout)), text_keys=run.text_keys)
    except BaseException as raised:
        if not settle():  # arq ends the job as it does any cancelled one
            if isinstance(raised, asyncio.CancelledError):
                raise
            raise asyncio.CancelledError from raised
        exc = checked_retry(raised) if isinstance(raised, Retry) else raised
        if isinstance(exc, Retry):  # a delay arq can keep: it runs the task again then
            raise
        defer = run.retry_after(exc) if run.retry_after is not None else None
        if defer is not None:  # a task exception its RETRY_ON lists (never a BaseException)
            raise Retry(defer=defer) from exc
        error = TaskError(
            exception_class_path=class_path(type(exc)), traceback="".join(format_exception(exc))
        )
        _set(result, status=TaskResultStatus.FAILED, finished_at=datetime.now(UTC), errors=[error])
        yield Step(partial(task_finished.send, run.sender, task_result=result), signal=task_finished)
        raise TaskFailed(error.exception_class_path, error.traceback) from exc
    if not settle():
        raise asyncio.CancelledError
    _set(result, status=TaskResultStatus.SUCCESSFUL, finished_at=datetime.now(UTC), _return_value=value)
    yield Step(partial(task_finished.send, run.sender, task_result=result), signal=task_finished)
    return value


class _Driven:
    """A lifecycle being driven: its pending step, then what it returned or raised."""

    def __init__(self, steps: Lifecycle) -> None:
        self.steps = steps
        self.step: Step | None = next(steps)
        self.value: Any = None
        self.error: BaseException | None = None

    def feed(self, reply: Any = None, error: BaseException | None = None) -> None:
        """The pending step's outcome."""
        try:
            self.step = self.steps.throw(error) if error is not None else self.steps.send(reply)
        except StopIteration as stop:
            self.step, self.value = None, stop.value
        except BaseException as exc:
            self.step, self.error = None, exc

    def perform_one(self, step: Step) -> None:
        """Perform ``step`` (the pending one) in this thread and feed its outcome."""
        try:
            reply = step.work()
        except BaseException as exc:
            self.feed(error=exc)
        else:
            self.feed(reply)

    def perform(self) -> None:
        """Perform the steps in this thread until one is ``on_loop`` or the lifecycle ends."""
        while (step := self.step) is not None and not step.on_loop:
            self.perform_one(step)

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class _Settling:
    """Whether a run ends as its task did or as its job's cancellation, decided once (``settle``)
    although a worker thread may be running the task's steps when the job is cancelled."""

    def __init__(self, job: asyncio.Task[Any] | None) -> None:
        self.job = job  # its cancellation count is one int: read from a worker thread too
        self.lock = threading.Lock()
        self.settled = False  # the run ends as the task did

    def settle(self) -> bool:
        """False if the job is being cancelled; else true, and the run ends as the task did."""
        with self.lock:
            self.settled = self.job is None or self.job.cancelling() == 0
            return self.settled

    async def perform(
        self, driven: _Driven, in_thread: Callable[[Callable[[], None]], Awaitable[None]]
    ) -> None:
        """``driven.perform()`` in a worker thread. A cancellation of the job before the run is
        settled propagates (the thread's steps end at ``settle``; queued, they never start); after,
        it is taken back once that work has run, queued or not: its ``task_finished`` tells how the
        run ended."""
        cancels = self.job.cancelling() if self.job is not None else 0
        work = asyncio.ensure_future(in_thread(driven.perform))
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            with self.lock:
                settled = self.settled
            if not settled:
                work.cancel()  # not yet started: it never runs; started: the thread runs on
                work.add_done_callback(_outcome_dropped)
                raise
            while not work.done():
                try:
                    await asyncio.shield(work)
                except asyncio.CancelledError:
                    if work.cancelled():  # by the loop's own end: nothing left to wait for
                        raise
            while self.job is not None and self.job.cancelling() > cancels:
                self.job.uncancel()  # taken back: the run ends as the task did
            work.result()


def _outcome_dropped(work: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of work no one awaits any more, so that asyncio does not log it."""
    if not work.cancelled():
        work.exception()


def _logs_only(signal: Signal, sender: type) -> bool:
    """Whether ``signal``'s only receivers for ``sender`` are Django's own log ones (or none):
    sync calls that only log, cheaper to make on the loop than to send to a thread."""
    try:
        sync_receivers, async_receivers = signal._live_receivers(sender)
    except (AttributeError, TypeError, ValueError):  # another Django's private API: be safe
        return False
    return not async_receivers and all(
        r is log_task_started or r is log_task_finished for r in sync_receivers
    )


def _with_fresh_connections(work: Callable[[], Any]) -> Any:
    """Sync code in a worker thread, as Django runs a request: fresh database connections around it."""
    close_old_connections()
    try:
        return work()
    finally:
        close_old_connections()


def _in_threads(executor: ThreadPoolExecutor | None) -> Callable[[Callable[[], Any]], Awaitable[Any]]:
    """Sync work in a thread of ``executor``, the worker's job threads (the loop's default pool
    under a plain arq worker). Built for each run (some 20 µs, less than one thread hop): a cache
    would keep the pools of workers that shut down alive."""
    return sync_to_async(_with_fresh_connections, thread_sensitive=False, executor=executor)


async def drive(run: Run, executor: ThreadPoolExecutor | None = None) -> Any:
    """Run the task: ``lifecycle``'s steps on the loop or in a thread of ``executor``, as each asks."""
    settling = _Settling(asyncio.current_task())
    driven = _Driven(lifecycle(run, settling.settle))
    in_thread = _in_threads(executor)
    while (step := driven.step) is not None:
        if step.signal is not None and _logs_only(step.signal, run.sender):
            driven.perform_one(step)
            continue
        if not step.on_loop:
            await settling.perform(driven, in_thread)
            continue
        try:
            awaitable = step.work() if step.coroutine else in_thread(step.work)
            reply = await (awaitable if step.timeout is None else asyncio.wait_for(awaitable, step.timeout))
        except BaseException as exc:  # fed on the loop: a cancellation or Retry propagates from here
            driven.feed(error=exc)
        else:
            driven.feed(reply)
    return driven.outcome()
