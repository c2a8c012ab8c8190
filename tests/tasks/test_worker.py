"""Django tasks run by a real arq worker process: results, errors, context, deferral, retries, signals."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.tasks import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone

from django_arq import get_queue, report_progress_sync
from django_arq.queues.attempts import attempts_key, is_logged, logged_job_id, parse_attempts
from django_arq.tasks import RUN_TASK
from tests.helpers import wait_for
from tests.tasks import sample_tasks
from tests.tasks.support import wait_finished

pytestmark = pytest.mark.usefixtures("task_worker")


def assert_ran_once(result: Any) -> None:
    assert result.enqueued_at <= result.started_at == result.last_attempted_at <= result.finished_at
    (worker_id,) = result.worker_ids
    host, pid = worker_id.rsplit(":", 1)
    assert host and pid.isdigit()
    assert result.attempts == 1


@pytest.mark.parametrize("task_fn", [sample_tasks.add, sample_tasks.async_add])
def test_success(task_fn: Any) -> None:
    result = wait_finished(task_fn.enqueue(20, b=22))
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42
    assert result.errors == []
    assert (result.args, result.kwargs) == ([20], {"b": 22})
    assert_ran_once(result)


def test_return_value_is_json_normalised() -> None:
    result = wait_finished(sample_tasks.echo.enqueue((1, 2), k=(3,)))
    assert result.return_value == {"args": [[1, 2]], "kwargs": {"k": [3]}}


@pytest.mark.parametrize("task_fn", [sample_tasks.whoami, sample_tasks.async_whoami])
def test_context(task_fn: Any) -> None:
    result = wait_finished(task_fn.enqueue("ctx"))
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {
        "tag": "ctx",
        "id": result.id,
        "attempt": 1,
        "status": "RUNNING",
        "backend": "default",
    }


@pytest.mark.parametrize("task_fn", [sample_tasks.report_steps, sample_tasks.async_report_steps])
def test_a_task_reports_progress_through_its_context(task_fn: Any) -> None:
    result = wait_finished(task_fn.enqueue(300))
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, 300)
    queue = get_queue("tasks")

    def last_kept() -> bool:
        progress = queue.get_job_metadata_sync(result.id).progress
        return progress is not None and progress.done == 300

    wait_for(last_kept, timeout=10)
    progress = queue.get_job_metadata_sync(result.id).progress
    assert progress is not None
    assert (progress.total, progress.fraction, progress.message) == (300, 1.0, "step 300")


def test_the_docs_example_task_reports_its_rows() -> None:
    from docs.examples.tasks_progress import import_rows

    result = wait_finished(import_rows.enqueue(["a", "b", "c"]))
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, 3)
    queue = get_queue("tasks")
    wait_for(lambda: getattr(queue.get_job_metadata_sync(result.id).progress, "done", None) == 3, timeout=10)
    progress = queue.get_job_metadata_sync(result.id).progress
    assert progress is not None and progress.message == "row 3 of 3"


def test_a_task_context_outside_a_worker_is_refused() -> None:
    from django.tasks import TaskContext

    context = TaskContext(task_result=sample_tasks.add.get_backend().enqueue(sample_tasks.add, [1, 2], {}))
    with pytest.raises(TypeError, match=r"TaskContext of a django\.tasks task running on ArqBackend"):
        report_progress_sync(context, 1)


@pytest.mark.parametrize("task_fn", [sample_tasks.fail, sample_tasks.async_fail])
def test_failure_keeps_class_path_and_traceback(task_fn: Any) -> None:
    result = wait_finished(task_fn.enqueue("boom"))
    assert result.status == TaskResultStatus.FAILED
    (error,) = result.errors
    assert error.exception_class_path == "tests.tasks.sample_tasks.TaskBoom"
    assert error.exception_class is sample_tasks.TaskBoom
    assert error.traceback.startswith("Traceback (most recent call last):")
    assert "raise TaskBoom(message)" in error.traceback
    assert error.traceback.rstrip().endswith("tests.tasks.sample_tasks.TaskBoom: boom")
    with pytest.raises(ValueError, match="Task failed"):
        result.return_value  # noqa: B018
    assert_ran_once(result)


def test_non_json_return_value_fails_the_task() -> None:
    result = wait_finished(sample_tasks.bad_return.enqueue())
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class_path == "builtins.TypeError"
    assert "Unsupported type" in result.errors[0].traceback


async def test_async_enqueue_and_result() -> None:
    result = await sample_tasks.async_add.aenqueue(1, 2)
    for _ in range(750):
        await result.arefresh()
        if result.is_finished:
            break
        await asyncio.sleep(0.02)
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 3


def test_run_after_defers_execution() -> None:
    run_after = timezone.now() + timedelta(seconds=1.5)
    result = sample_tasks.add.using(run_after=run_after).enqueue(1, 1)
    time.sleep(0.5)
    result.refresh()
    assert result.status == TaskResultStatus.READY and result.worker_ids == []
    wait_finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.started_at >= run_after
    assert result.task.run_after == run_after


def test_running_status_while_the_task_runs() -> None:
    result = sample_tasks.sleep_for.enqueue(1.0)
    deadline = time.monotonic() + 10
    while result.status != TaskResultStatus.RUNNING:
        assert time.monotonic() < deadline and not result.is_finished
        time.sleep(0.02)
        result.refresh()
    assert result.started_at is not None and result.finished_at is None
    assert len(result.worker_ids) == 1
    wait_finished(result)
    assert result.return_value == "slept"


def test_retry_runs_the_task_again_and_counts_attempts() -> None:
    result = wait_finished(sample_tasks.flaky.enqueue(3))
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 3
    assert result.attempts == 3 and len(set(result.worker_ids)) == 1
    assert result.started_at < result.last_attempted_at < result.finished_at


def test_retries_are_capped_by_the_worker_max_tries() -> None:
    result = wait_finished(sample_tasks.flaky.enqueue(10))  # the test worker has max_tries = 3
    assert result.status == TaskResultStatus.FAILED
    (error,) = result.errors
    assert error.exception_class_path == "arq.worker.JobExecutionFailed"
    assert "max 3 retries exceeded" in error.traceback
    assert result.attempts == 3


def test_started_and_finished_signals_are_sent_in_the_worker(redis_client: redis.Redis) -> None:
    result = wait_finished(sample_tasks.add.enqueue(1, 2))
    worker_pid = int(result.worker_ids[0].rsplit(":", 1)[1])
    entries = [json.loads(e) for e in redis_client.lrange(sample_tasks.SIGNALS_KEY, 0, -1)]
    mine = [(e["signal"], e["status"], e["pid"]) for e in entries if e["id"] == result.id]
    assert mine == [("task_started", "RUNNING", worker_pid), ("task_finished", "SUCCESSFUL", worker_pid)]


# -- payloads the runner refuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("module_path", "backend", "message"),
    [
        ("tests.tasks.sample_tasks.not_a_task", "default", "is a function, not a django.tasks Task"),
        ("os.system", "default", "is a builtin_function_or_method, not a django.tasks Task"),
        ("tests.tasks.no_such_module.fn", "default", "cannot import task"),
        (
            "tests.tasks.sample_tasks.add",
            "immediate",
            "not a django_arq.tasks.ArqBackend; refusing to run it",
        ),
    ],
)
def test_runner_refuses_anything_but_an_arq_task(module_path: str, backend: str, message: str) -> None:
    queue = get_queue("tasks")
    meta = queue.enqueue_sync(RUN_TASK, module_path, [1], {}, backend=backend, queue_name="default")
    deadline = time.monotonic() + 10
    while True:
        try:
            job = queue.get_job_result_sync(meta.id)
            break
        except Exception:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert job.success is False
    assert type(job.result).__name__ == "InvalidTask"
    assert message in str(job.result)


def test_arguments_too_deep_for_django_to_rebuild_fail_the_task_and_are_no_task_result(
    redis_client: redis.Redis,
) -> None:
    """Enqueued around ArqBackend's checks (which refuse them): the worker cannot build the task's
    TaskResult, nor can get_result."""
    deep: list[Any] = []
    for _ in range(3000):
        deep = [deep]
    queue = get_queue("tasks")
    meta = queue.enqueue_sync(RUN_TASK, "tests.tasks.sample_tasks.echo", [deep], {}, _job_id=logged_job_id())
    wait_for(lambda: redis_client.exists(f"arq:result:{meta.id}"), timeout=15)
    failure = queue.get_job_result_sync(meta.id).result
    assert (
        type(failure).__name__ == "TaskFailed" and failure.exception_class_path == "builtins.RecursionError"
    )
    with pytest.raises(
        TaskResultDoesNotExist, match="a task whose arguments Django cannot rebuild: RecursionError"
    ):
        sample_tasks.echo.get_result(meta.id)


def test_aborting_the_arq_job_fails_the_task() -> None:
    result = sample_tasks.sleep_for.enqueue(10)
    deadline = time.monotonic() + 10
    while result.status != TaskResultStatus.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
        result.refresh()
    assert get_queue("tasks").abort_job_sync(result.id, timeout=5) is True
    wait_finished(result)
    assert result.status == TaskResultStatus.FAILED
    assert [e.exception_class_path for e in result.errors] == ["asyncio.exceptions.CancelledError"]


def test_the_worker_logs_the_attempt_when_it_claims_the_task(redis_client: redis.Redis) -> None:
    result = wait_finished(sample_tasks.add.enqueue(1, 2))
    assert is_logged(result.id)
    (entry,) = parse_attempts(redis_client.lrange(attempts_key(result.id), 0, -1))
    assert [entry["worker_id"]] == result.worker_ids and entry["at"] == result.started_at
    assert_ran_once(result)


def test_a_task_id_of_another_form_gets_its_attempt_logged_by_the_task() -> None:
    """As a task enqueued by an earlier version, whose ids the worker does not log at claim."""
    job_id = uuid.uuid4().hex
    get_queue("tasks").enqueue_sync(RUN_TASK, "tests.tasks.sample_tasks.add", [2, 3], {}, _job_id=job_id)
    result = wait_finished(sample_tasks.add.get_result(job_id))
    assert result.return_value == 5
    assert_ran_once(result)


def test_a_run_that_never_starts_the_task_takes_its_logged_attempt_back(redis_client: redis.Redis) -> None:
    queue = get_queue("tasks")
    refused = logged_job_id()  # run_task refuses it: not a task
    queue.enqueue_sync(RUN_TASK, "tests.tasks.sample_tasks.TaskBoom", [], {}, _job_id=refused)
    expired = sample_tasks.add.using(run_after=timezone.now() + timedelta(seconds=3)).enqueue(1, 1)
    redis_client.delete(f"arq:job:{expired.id}")  # arq fails it when it claims it: "job expired"

    def ended_without_attempt(job_id: str) -> bool:
        ended = redis_client.exists(f"arq:result:{job_id}")
        return bool(ended) and not redis_client.exists(attempts_key(job_id))

    wait_for(lambda: ended_without_attempt(refused) and ended_without_attempt(expired.id), timeout=30)
    assert type(queue.get_job_result_sync(refused).result).__name__ == "InvalidTask"
    assert "job expired" in str(queue.get_job_result_sync(expired.id).result)
