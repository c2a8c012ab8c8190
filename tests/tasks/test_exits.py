"""Django tasks that call ``sys.exit()`` or raise ``KeyboardInterrupt``, and workers run in-process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command
from django.tasks import TaskResultStatus

from django_arq.worker import create_worker
from tests.helpers import Process
from tests.tasks import sample_tasks
from tests.tasks.settings import TASKS_QUEUE
from tests.tasks.support import start_task_worker, wait_finished

CANCELLED = "asyncio.exceptions.CancelledError"
#: What a task's Retry whose delay is too large for a float fails with (it stopped the worker).
TOO_LATE = "Retry(defer=...) asks for more than 1e308 s; a job can be deferred by at most 31622400000 s"
#: The arq queue of Django queue "other": a worker of its own, apart from the session's.
OTHER = f"{TASKS_QUEUE}:other"


@pytest.fixture
def other_worker() -> Iterator[Process]:
    worker = start_task_worker(queue=OTHER)
    yield worker
    worker.stop()


@pytest.mark.parametrize(
    ("task_fn", "args", "path", "last_line"),
    [
        (sample_tasks.exits, (3,), "builtins.SystemExit", "SystemExit: 3"),
        (sample_tasks.async_exits, (4,), "builtins.SystemExit", "SystemExit: 4"),
        (sample_tasks.interrupted, (), "builtins.KeyboardInterrupt", "KeyboardInterrupt: stop"),
        (sample_tasks.async_interrupted, (), "builtins.KeyboardInterrupt", "KeyboardInterrupt: stop"),
        (sample_tasks.cancels_itself, (), CANCELLED, CANCELLED),  # not retried as a cancelled job
        (sample_tasks.async_cancels_itself, (), CANCELLED, CANCELLED),
        (sample_tasks.retries_in, (10**400,), "builtins.ValueError", f"ValueError: {TOO_LATE}"),
    ],
    ids=[
        "sys.exit",
        "async sys.exit",
        "KeyboardInterrupt",
        "async KeyboardInterrupt",
        "own CancelledError",
        "async own CancelledError",
        "Retry beyond any float",
    ],
)
def test_an_exiting_task_fails_and_the_worker_runs_on(
    other_worker: Process, task_fn: Any, args: tuple[Any, ...], path: str, last_line: str
) -> None:
    exiting = task_fn.using(queue_name="other").enqueue(*args)
    normal = sample_tasks.add.using(queue_name="other").enqueue(1, 2)
    result = wait_finished(exiting, timeout=30)
    assert result.status == TaskResultStatus.FAILED
    ((error),) = result.errors
    assert error.exception_class_path == path
    assert error.traceback.strip().splitlines()[-1] == last_line
    assert result.attempts == 1  # failed once, not retried

    assert wait_finished(normal, timeout=30).return_value == 3
    later = wait_finished(sample_tasks.add.using(queue_name="other").enqueue(2, 3), timeout=30)
    assert later.return_value == 5
    assert other_worker.proc.poll() is None, other_worker.output()
    assert result.worker_ids == later.worker_ids  # the same worker process ran both


def burst_in_process() -> None:
    call_command("arq_worker", "--alias", "tasks", "--queue", OTHER, "--burst", verbosity=0)


def enqueue_both() -> list[Any]:
    """A sync and an async task (Django's task signals have sync receivers: thread-sensitive code)."""
    return [
        sample_tasks.add.using(queue_name="other").enqueue(1, 2),
        sample_tasks.async_add.using(queue_name="other").enqueue(3, 4),
    ]


def assert_succeeded(results: list[Any]) -> None:
    for result in results:
        result.refresh()
        assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert [r.return_value for r in results] == [3, 7]


async def test_call_command_through_sync_to_async() -> None:
    results = await sync_to_async(enqueue_both)()
    await sync_to_async(burst_in_process)()
    await sync_to_async(assert_succeeded)(results)


def test_call_command_from_async_code_under_async_to_sync() -> None:
    results = enqueue_both()

    async def run() -> None:
        await sync_to_async(burst_in_process)()

    async_to_sync(run)()
    assert_succeeded(results)


async def test_async_run_in_a_loop_of_a_thread_of_sync_to_async() -> None:
    results = await sync_to_async(enqueue_both)()

    async def main() -> None:
        worker = create_worker("tasks", queue_name=OTHER, burst=True, handle_signals=False)
        try:
            await worker.async_run()
        finally:
            await worker.close()

    await sync_to_async(asyncio.run)(main())
    await sync_to_async(assert_succeeded)(results)
