"""The run around a task function (``django_arq.tasks.lifecycle``) in-process, and the runner's cache.

The worker tests run the same code in a real worker process; these look at what they cannot see:
which thread each step runs in, what is sent on a Retry or a cancellation, the cached Task.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq import Retry
from django.tasks import TaskResultStatus
from django.tasks.exceptions import InvalidTask, InvalidTaskBackend
from django.tasks.signals import task_finished, task_started

from django_arq.tasks import ArqBackend, TaskFailed
from django_arq.tasks.common import task_times
from django_arq.tasks.lifecycle import Run, drive
from django_arq.tasks.runner import _resolve, _runnable
from tests.tasks import sample_tasks

ADD = "tests.tasks.sample_tasks.add"
T0, MS = datetime(2026, 1, 1, tzinfo=UTC), timedelta(milliseconds=1)
ASYNC_ADD = "tests.tasks.sample_tasks.async_add"
#: How long a test waits for what a thread or the loop is about to do; a wait that outlasts it fails.
DEADLINE = 10.0


async def until_true(condition: Callable[[], bool]) -> None:
    """Until ``condition()`` holds; ``TimeoutError`` after ``DEADLINE`` seconds."""
    async with asyncio.timeout(DEADLINE):
        while not condition():
            await asyncio.sleep(0.005)


async def until(event: threading.Event) -> None:
    await until_true(event.is_set)


async def within(awaitable: Awaitable[Any]) -> Any:
    """What ``awaitable`` gives; ``TimeoutError`` after ``DEADLINE`` seconds, even if it swallows
    the cancellation (it is left running)."""
    return await asyncio.wait_for(asyncio.shield(awaitable), DEADLINE)


@pytest.fixture
def seen() -> Iterator[list[tuple[str, Any, int]]]:
    """(signal, status, thread) of each task signal sent while the test runs."""
    events: list[tuple[str, Any, int]] = []

    def started(sender: Any, task_result: Any, **kwargs: Any) -> None:
        events.append(("started", task_result.status, threading.get_ident()))

    def finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
        events.append(("finished", task_result.status, threading.get_ident()))

    task_started.connect(started, dispatch_uid="test_lifecycle.started")
    task_finished.connect(finished, dispatch_uid="test_lifecycle.finished")
    yield events
    task_started.disconnect(dispatch_uid="test_lifecycle.started")
    task_finished.disconnect(dispatch_uid="test_lifecycle.finished")


def make_run(task: Any, *args: Any, log: list[dict[str, Any]] | None = None) -> Run:
    async def log_attempt() -> list[dict[str, Any]]:
        return log or [{"worker_id": "here:1", "at": datetime.now(UTC)}]

    return Run(
        task=task,
        sender=ArqBackend,
        job_id="job-1",
        enqueued_at=None,
        args=list(args),
        kwargs={},
        backend="default",
        attempts=log_attempt,
        coroutine=inspect.iscoroutinefunction(task.func),
    )


async def test_a_sync_task_and_its_signals_run_in_one_worker_thread(seen: list[Any]) -> None:
    threads: list[int] = []
    task = sample_tasks.add.using()
    object.__setattr__(task, "func", lambda a, b: threads.append(threading.get_ident()) or a + b)
    assert await within(drive(make_run(task, 2, 3))) == 5
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "SUCCESSFUL")]
    assert {t for *_, t in seen} == set(threads)
    assert threads != [threading.get_ident()]  # not the loop's thread


async def test_a_coroutine_task_runs_on_the_loop_its_signals_in_a_thread(seen: list[Any]) -> None:
    loop_thread: list[int] = []

    async def body(a: int, b: int) -> int:
        loop_thread.append(threading.get_ident())
        return a * b

    task = sample_tasks.async_add.using()
    object.__setattr__(task, "func", body)
    assert await within(drive(make_run(task, 2, 3))) == 6
    assert loop_thread == [threading.get_ident()]
    assert [s for s, *_ in seen] == ["started", "finished"]
    assert all(t != threading.get_ident() for *_, t in seen)


@pytest.fixture
def django_receivers_only() -> Iterator[None]:
    """Only Django's own log receivers on the task signals (sample_tasks' are off meanwhile)."""
    task_started.disconnect(dispatch_uid="tests.tasks.started")
    task_finished.disconnect(dispatch_uid="tests.tasks.finished")
    yield
    task_started.connect(sample_tasks.on_started, dispatch_uid="tests.tasks.started")
    task_finished.connect(sample_tasks.on_finished, dispatch_uid="tests.tasks.finished")


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    """(state, thread) of each of Django's task log lines."""
    return [
        (r.getMessage().rsplit("=", 1)[1], r.thread or 0) for r in caplog.records if r.name == "django.tasks"
    ]


@pytest.mark.usefixtures("django_receivers_only")
async def test_with_only_djangos_log_receivers_a_coroutine_task_makes_no_thread_hop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise sample_tasks.TaskBoom("boom")

    failing = sample_tasks.async_add.using()
    object.__setattr__(failing, "func", fails)
    loop = threading.get_ident()
    with caplog.at_level(logging.INFO, logger="django.tasks"):
        assert await within(drive(make_run(sample_tasks.async_add, 2, 3))) == 5
        with pytest.raises(TaskFailed):
            await within(drive(make_run(failing)))
    assert logged(caplog) == [("RUNNING", loop), ("SUCCESSFUL", loop), ("RUNNING", loop), ("FAILED", loop)]


@pytest.mark.usefixtures("django_receivers_only")
async def test_with_only_djangos_log_receivers_a_sync_task_still_runs_in_a_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    threads: list[int] = []
    task = sample_tasks.add.using()
    object.__setattr__(task, "func", lambda a, b: threads.append(threading.get_ident()) or a + b)
    with caplog.at_level(logging.INFO, logger="django.tasks"):
        assert await within(drive(make_run(task, 2, 3))) == 5
    (thread,) = threads
    assert thread != threading.get_ident()
    assert [state for state, _ in logged(caplog)] == ["RUNNING", "SUCCESSFUL"]


@pytest.mark.usefixtures("django_receivers_only")
async def test_an_async_receiver_is_still_sent_from_a_thread() -> None:
    """``send`` on the loop could not await it (async_to_sync refuses the loop's thread)."""
    calls: list[tuple[str, int]] = []

    async def areceiver(sender: Any, task_result: Any, **kwargs: Any) -> None:
        calls.append((task_result.status, threading.get_ident()))

    task_started.connect(areceiver, dispatch_uid="test_lifecycle.async")
    try:
        assert await within(drive(make_run(sample_tasks.async_add, 2, 3))) == 5
    finally:
        task_started.disconnect(dispatch_uid="test_lifecycle.async")
    assert calls == [("RUNNING", threading.get_ident())]  # asgiref awaits it on the worker's loop


async def test_a_failure_sends_task_finished_then_raises_task_failed(seen: list[Any]) -> None:
    with pytest.raises(TaskFailed) as raised:
        await within(drive(make_run(sample_tasks.fail, "boom")))
    assert raised.value.exception_class_path == "tests.tasks.sample_tasks.TaskBoom"
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "FAILED")]


def raising(exc: BaseException, coroutine: bool) -> Any:
    """A copy of a sample task whose function raises ``exc``."""

    def raises() -> None:
        raise exc

    async def araises() -> None:
        raise exc

    task = (sample_tasks.async_add if coroutine else sample_tasks.add).using()
    object.__setattr__(task, "func", araises if coroutine else raises)
    return task


@pytest.mark.parametrize("coroutine", [False, True], ids=["def", "async def"])
async def test_retry_passes_through_without_task_finished(seen: list[Any], coroutine: bool) -> None:
    with pytest.raises(Retry):
        await within(drive(make_run(raising(Retry(defer=1), coroutine))))
    assert [s for s, *_ in seen] == ["started"]


async def test_a_cancelled_job_passes_its_cancellation_through_without_task_finished(seen: list[Any]) -> None:
    """An abort, a timeout or a stop cancels the job's task while the task runs: arq ends the job."""
    running = asyncio.Event()

    async def waits() -> None:
        running.set()
        await asyncio.Event().wait()

    task = sample_tasks.async_add.using()
    object.__setattr__(task, "func", waits)
    job = asyncio.ensure_future(drive(make_run(task)))
    await within(running.wait())
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(job)
    assert [s for s, *_ in seen] == ["started"]


async def test_a_job_cancelled_while_its_thread_runs_the_task_ends_without_task_finished(
    seen: list[Any],
) -> None:
    """The thread cannot be stopped: the task returns after the job ended, and nothing says so."""
    running, release = threading.Event(), threading.Event()

    def held() -> int:
        running.set()
        release.wait(10)
        return 5

    task = sample_tasks.add.using()
    object.__setattr__(task, "func", held)
    threads = ThreadPoolExecutor(1)
    job = asyncio.ensure_future(drive(make_run(task), threads))
    await until(running)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await within(job)
    release.set()
    await within(asyncio.to_thread(threads.shutdown))  # the task has returned, its thread is done
    assert [s for s, *_ in seen] == ["started"]


async def test_a_run_keeps_no_hold_on_its_workers_job_threads_once_it_ended() -> None:
    """A worker that shut down leaves no pool alive (its threads end with it)."""
    threads = ThreadPoolExecutor(1)
    assert await within(drive(make_run(sample_tasks.add, 2, 3), threads)) == 5
    # Shut down here, not through asyncio.to_thread: the default pool's thread keeps its work
    # item (and so the bound method and this pool) a moment after the awaiting side resumes.
    threads.shutdown()  # its one thread is idle: the run has ended
    left = weakref.ref(threads)
    del threads
    gc.collect()
    assert left() is None


@pytest.mark.parametrize(
    ("task", "args", "ends"),
    [
        (sample_tasks.add, (2, 3), 5),
        (sample_tasks.async_add, (2, 3), 5),
        (sample_tasks.fail, ("boom",), TaskFailed),
    ],
    ids=["def", "async def", "def failing"],
)
async def test_a_job_cancelled_while_task_finished_is_sent_ends_as_task_finished_says(
    seen: list[Any], task: Any, args: tuple[Any, ...], ends: Any
) -> None:
    """The run was settled when the task returned or raised: the job waits for the receivers."""
    sending, release = threading.Event(), threading.Event()

    def slow(sender: Any, task_result: Any, **kwargs: Any) -> None:
        sending.set()
        release.wait(10)

    task_finished.connect(slow, dispatch_uid="test_lifecycle.slow")
    try:
        job = asyncio.ensure_future(drive(make_run(task, *args)))
        await until(sending)
        job.cancel()
        await asyncio.sleep(0.05)
        assert not job.done()
        release.set()
        if ends is TaskFailed:
            with pytest.raises(TaskFailed):
                await within(job)
        else:
            assert await within(job) == ends
    finally:
        task_finished.disconnect(dispatch_uid="test_lifecycle.slow")
    said = TaskResultStatus.FAILED if ends is TaskFailed else TaskResultStatus.SUCCESSFUL
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", said)]
    assert job.cancelling() == 0  # the cancellation taken back


class CountingPool(ThreadPoolExecutor):
    """A pool that counts the work handed to it."""

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        self.submitted = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(*args, **kwargs)


def apart(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """What ``main()`` returns, run on a loop of its own in a daemon thread: a job that swallows
    every cancellation would hang this loop's end, and fails the test after ``DEADLINE`` instead."""
    outcome: Future[Any] = Future()

    def run() -> None:
        try:
            outcome.set_result(asyncio.run(main()))
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return outcome.result(DEADLINE)


def test_a_job_cancelled_while_its_task_finished_hop_is_queued_ends_as_the_task_did(
    seen: list[Any],
) -> None:
    """The run is settled on the loop; its task_finished waits in the pool behind a busy thread
    (a timed-out task's, say) when the job is cancelled: that hop still runs, and a later cancel
    too is taken back."""
    threads = CountingPool(1)
    busy, release = threading.Event(), threading.Event()

    def hold() -> None:
        busy.set()
        release.wait(DEADLINE)

    async def body(a: int, b: int) -> int:
        threads.submit(hold)  # the pool's one thread is busy now
        return a + b

    task = sample_tasks.async_add.using()
    object.__setattr__(task, "func", body)

    async def main() -> tuple[Any, int]:
        job = asyncio.ensure_future(drive(make_run(task, 2, 3), threads))
        await until(busy)
        await until_true(lambda: threads.submitted == 3)  # task_started, hold, task_finished's hop
        for _ in range(2):
            job.cancel()
            await asyncio.sleep(0.05)
        assert not job.done()
        release.set()
        return await job, job.cancelling()

    try:
        assert apart(main) == (5, 0)  # both cancellations taken back
    finally:
        release.set()
        threads.shutdown(wait=False)
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "SUCCESSFUL")]


def test_a_job_cancelled_while_a_timed_out_sync_tasks_task_finished_is_queued_ends_failed(
    seen: list[Any],
) -> None:
    """A sync task past its TIMEOUT keeps the pool's one thread: task_finished (FAILED, the
    timeout) waits behind it when the job is cancelled, and still runs."""
    threads = CountingPool(1)
    busy, release = threading.Event(), threading.Event()

    def held() -> int:
        busy.set()
        release.wait(DEADLINE)
        return 5

    task = sample_tasks.add.using()
    object.__setattr__(task, "func", held)

    async def main() -> tuple[Any, int]:
        timed = replace(make_run(task), timeout=0.5)  # held starts well within it
        job = asyncio.ensure_future(drive(timed, threads))
        await until(busy)
        await until_true(lambda: threads.submitted == 3)  # task_started, the call, task_finished's hop
        for _ in range(2):
            job.cancel()
            await asyncio.sleep(0.05)
        assert not job.done()
        release.set()
        with pytest.raises(TaskFailed) as raised:
            await job
        return raised.value.exception_class_path, job.cancelling()

    try:
        assert apart(main) == ("builtins.TimeoutError", 0)  # both cancellations taken back
    finally:
        release.set()
        threads.shutdown(wait=False)
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "FAILED")]


@pytest.mark.parametrize("coroutine", [False, True], ids=["def", "async def"])
async def test_a_cancelled_error_of_the_tasks_own_fails_it(seen: list[Any], coroutine: bool) -> None:
    """Not its job cancelled: the task failed with it, once (as on ImmediateBackend), not retried."""
    with pytest.raises(TaskFailed) as raised:
        await within(drive(make_run(raising(asyncio.CancelledError(), coroutine))))
    assert raised.value.exception_class_path == "asyncio.exceptions.CancelledError"
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "FAILED")]


async def test_a_result_json_cannot_write_fails_the_task_and_task_finished_says_so(seen: list[Any]) -> None:
    """An int of more digits than Python turns into text: arq's worker would fail the job after
    task_finished said SUCCESSFUL."""
    task = sample_tasks.add.using()
    object.__setattr__(task, "func", lambda: 10**5000)
    with pytest.raises(TaskFailed) as raised:
        await within(drive(make_run(task)))
    assert raised.value.exception_class_path == "builtins.ValueError"
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "FAILED")]


@pytest.mark.parametrize("coroutine", [False, True], ids=["def", "async def"])
async def test_a_retry_arq_cannot_defer_fails_the_task_with_task_finished(
    seen: list[Any], coroutine: bool
) -> None:
    with pytest.raises(TaskFailed) as raised:
        await within(drive(make_run(raising(Retry(defer=1e300), coroutine))))
    assert raised.value.exception_class_path == "builtins.ValueError"
    assert "Retry(defer=...) asks for 1e+300 s" in raised.value.traceback
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "FAILED")]


async def test_the_attempt_log_gives_the_times_and_workers(seen: list[Any]) -> None:
    first, later = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    log = [{"worker_id": "a:1", "at": first}, {"worker_id": "b:2", "at": later}]
    results: list[Any] = []

    def keep(sender: Any, task_result: Any, **kwargs: Any) -> None:
        results.append(task_result)

    task_started.connect(keep, dispatch_uid="test_lifecycle.keep")
    try:
        await within(drive(make_run(sample_tasks.add, 1, 1, log=log)))
    finally:
        task_started.disconnect(dispatch_uid="test_lifecycle.keep")
    (result,) = results
    assert (result.started_at, result.last_attempted_at) == (first, later)
    assert result.worker_ids == ["a:1", "b:2"] and result.attempts == 2
    assert result.status == TaskResultStatus.SUCCESSFUL  # the same object, finished since


@pytest.mark.parametrize(
    ("enqueued", "finished", "expected"),
    [
        (T0, T0 + 3 * MS, (T0, T0 + 3 * MS)),  # in order already: kept
        (T0 + MS / 2, T0 + 3 * MS, (T0 + MS / 4, T0 + 3 * MS)),  # arq's enqueue time rounded up
        (T0, T0 + MS, (T0, T0 + 2 * MS)),  # arq's finish time rounded down, before the last attempt
        (None, None, (None, None)),
    ],
)
def test_a_results_times_keep_their_order_through_arqs_millisecond_rounding(
    enqueued: datetime | None, finished: datetime | None, expected: tuple[Any, Any]
) -> None:
    log = [{"worker_id": "a:1", "at": T0 + MS / 4}, {"worker_id": "a:1", "at": T0 + 2 * MS}]
    times = task_times(enqueued, log, finished)
    assert (times["started_at"], times["last_attempted_at"]) == (T0 + MS / 4, T0 + 2 * MS)
    assert (times["enqueued_at"], times["finished_at"]) == expected
    assert task_times(enqueued, [], finished) == {
        "enqueued_at": enqueued, "started_at": None, "last_attempted_at": None, "finished_at": finished
    }  # fmt: skip


@pytest.mark.parametrize("setting", ["TASKS", "ARQ_QUEUES"])
def test_the_task_is_resolved_once_per_name_until_settings_change(settings: Any, setting: str) -> None:
    task, sender, options, tries, coroutine, text_keys = _resolve(ADD, "default", "default", None)
    assert sender is ArqBackend and task.func is sample_tasks.add.func
    assert options is None and tries == 3  # the tasks alias's MAX_TRIES
    assert coroutine is False and _resolve(ASYNC_ADD, "default", "default", None).coroutine is True
    assert text_keys is False and _resolve(ADD, "json", "default", None).text_keys is True
    assert _resolve(ADD, "default", "default", None).task is task
    assert _resolve(ADD, "default", "other", None).task.queue_name == "other"
    setattr(settings, setting, {**getattr(settings, setting)})  # setting_changed clears the cache
    assert _resolve(ADD, "default", "default", None).task is not task


@pytest.mark.parametrize(
    ("backend", "error"),
    [(["default"], TypeError), (3, TypeError), ("nope", InvalidTaskBackend), ("immediate", InvalidTask)],
)
def test_odd_backend_values_fail_the_job_and_are_not_cached(backend: Any, error: type[Exception]) -> None:
    _runnable.cache_clear()
    _resolve(ADD, "default", "default", None)
    with pytest.raises(error):
        _resolve(ADD, backend, "default", None)
    assert _runnable.cache_info().currsize == 1
