"""The run around a task function (``django_arq.tasks.lifecycle``) in-process, and the runner's cache.

The worker tests run the same code in a real worker process; these look at what they cannot see:
which thread each step runs in, what is sent on a Retry or a cancellation, the cached Task.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Iterator
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
    assert await drive(make_run(task, 2, 3)) == 5
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
    assert await drive(make_run(task, 2, 3)) == 6
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
        assert await drive(make_run(sample_tasks.async_add, 2, 3)) == 5
        with pytest.raises(TaskFailed):
            await drive(make_run(failing))
    assert logged(caplog) == [("RUNNING", loop), ("SUCCESSFUL", loop), ("RUNNING", loop), ("FAILED", loop)]


@pytest.mark.usefixtures("django_receivers_only")
async def test_with_only_djangos_log_receivers_a_sync_task_still_runs_in_a_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    threads: list[int] = []
    task = sample_tasks.add.using()
    object.__setattr__(task, "func", lambda a, b: threads.append(threading.get_ident()) or a + b)
    with caplog.at_level(logging.INFO, logger="django.tasks"):
        assert await drive(make_run(task, 2, 3)) == 5
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
        assert await drive(make_run(sample_tasks.async_add, 2, 3)) == 5
    finally:
        task_started.disconnect(dispatch_uid="test_lifecycle.async")
    assert calls == [("RUNNING", threading.get_ident())]  # asgiref awaits it on the worker's loop


async def test_a_failure_sends_task_finished_then_raises_task_failed(seen: list[Any]) -> None:
    with pytest.raises(TaskFailed) as raised:
        await drive(make_run(sample_tasks.fail, "boom"))
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
        await drive(make_run(raising(Retry(defer=1), coroutine)))
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
    await running.wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert [s for s, *_ in seen] == ["started"]


@pytest.mark.parametrize("coroutine", [False, True], ids=["def", "async def"])
async def test_a_cancelled_error_of_the_tasks_own_fails_it(seen: list[Any], coroutine: bool) -> None:
    """Not its job cancelled: the task failed with it, once (as on ImmediateBackend), not retried."""
    with pytest.raises(TaskFailed) as raised:
        await drive(make_run(raising(asyncio.CancelledError(), coroutine)))
    assert raised.value.exception_class_path == "asyncio.exceptions.CancelledError"
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "FAILED")]


async def test_a_result_json_cannot_write_fails_the_task_and_task_finished_says_so(seen: list[Any]) -> None:
    """An int of more digits than Python turns into text: arq's worker would fail the job after
    task_finished said SUCCESSFUL."""
    task = sample_tasks.add.using()
    object.__setattr__(task, "func", lambda: 10**5000)
    with pytest.raises(TaskFailed) as raised:
        await drive(make_run(task))
    assert raised.value.exception_class_path == "builtins.ValueError"
    assert [(s, status) for s, status, _ in seen] == [("started", "RUNNING"), ("finished", "FAILED")]


@pytest.mark.parametrize("coroutine", [False, True], ids=["def", "async def"])
async def test_a_retry_arq_cannot_defer_fails_the_task_with_task_finished(
    seen: list[Any], coroutine: bool
) -> None:
    with pytest.raises(TaskFailed) as raised:
        await drive(make_run(raising(Retry(defer=1e300), coroutine)))
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
        await drive(make_run(sample_tasks.add, 1, 1, log=log))
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
    task, sender, options, tries, coroutine = _resolve(ADD, "default", "default", None)
    assert sender is ArqBackend and task.func is sample_tasks.add.func
    assert options is None and tries == 3  # the tasks alias's MAX_TRIES
    assert coroutine is False and _resolve(ASYNC_ADD, "default", "default", None).coroutine is True
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
