"""Per-task options of ArqBackend (``OPTIONS["TASKS"]``) on a real worker: retries with backoff on
the listed exceptions only, a MAX_TRIES above the worker's, a TIMEOUT; and their system checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.tasks import TaskResultStatus, task_backends

from tests.tasks import sample_tasks
from tests.tasks.support import wait_finished


@pytest.mark.usefixtures("task_worker")
def test_retried_on_the_listed_exception_beyond_the_worker_max_tries() -> None:
    result = wait_finished(sample_tasks.unsteady.enqueue("connection", 4))
    assert (result.status, result.return_value, result.attempts) == (TaskResultStatus.SUCCESSFUL, 4, 4)
    # BASE 0.1 s, then 0.2 s twice (MAX): at least 0.5 s between the first and the last attempt
    assert (result.last_attempted_at - result.started_at).total_seconds() >= 0.5


@pytest.mark.usefixtures("task_worker")
def test_other_exceptions_fail_at_once_and_the_last_try_keeps_the_task_error() -> None:
    other = wait_finished(sample_tasks.unsteady.enqueue("value", 2))
    assert (other.status, other.attempts) == (TaskResultStatus.FAILED, 1)
    assert other.errors[-1].exception_class_path == "builtins.ValueError"
    spent = wait_finished(sample_tasks.unsteady.enqueue("connection", 99))
    assert (spent.status, spent.attempts) == (TaskResultStatus.FAILED, 4)
    assert spent.errors[-1].exception_class_path == "builtins.ConnectionError"


@pytest.mark.usefixtures("task_worker")
def test_a_task_timeout_fails_the_task() -> None:
    result = wait_finished(sample_tasks.too_slow.enqueue(20))
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[-1].exception_class_path == "builtins.TimeoutError"


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([], "OPTIONS['TASKS'] must be a dict of task paths to options, not list"),
        ({"a.b": {"KEEP_RESULT": 5}}, "cannot set ['KEEP_RESULT']: every task runs in the arq function"),
        ({"a.b": {"MAX_TRIES": 0}}, "MAX_TRIES must be an integer from 1 to 10000, not 0"),
        ({"a.b": {"RETRY_ON": ["no.where"]}}, "'no.where' cannot be imported"),
        ({"a.b": 3}, "maps task paths to dicts of options"),
    ],
)
def test_bad_task_options_are_reported(settings: Any, tasks: Any, expected: str) -> None:
    settings.TASKS = {**settings.TASKS, "bad": {"BACKEND": "django_arq.tasks.ArqBackend",
                                                "OPTIONS": {"ALIAS": "tasks", "TASKS": tasks}}}  # fmt: skip
    messages = [m for m in task_backends["bad"].check() if m.id == "django_arq.T004"]
    assert len(messages) == 1 and expected in messages[0].msg, [m.msg for m in messages]
    assert task_backends["bad"].task_options == {}
