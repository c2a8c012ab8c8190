"""The same task module run by Django's ImmediateBackend and by ArqBackend gives the same results."""

from __future__ import annotations

from typing import Any

import pytest
from django.tasks import TaskResult, TaskResultStatus

from tests.tasks import sample_tasks
from tests.tasks.support import wait_finished

pytestmark = pytest.mark.usefixtures("task_worker")

CASES = [
    (sample_tasks.add, (1,), {"b": 2}),
    (sample_tasks.async_add, (3, 4), {}),
    (sample_tasks.echo, ((1, 2), "x", None), {"k": (3, {"n": 1.5})}),
    (sample_tasks.whoami, ("sync",), {}),
    (sample_tasks.async_whoami, ("async",), {}),
    (sample_tasks.fail, ("boom",), {}),
    (sample_tasks.async_fail, ("async boom",), {}),
    (sample_tasks.bad_return, (), {}),
    (sample_tasks.exits, (3,), {}),  # ImmediateBackend records SystemExit as a failure too
    (sample_tasks.async_exits, (4,), {}),
]


def outcome(result: TaskResult) -> dict[str, Any]:
    """What a caller can observe, with the backend-specific id and alias factored out."""
    seen: dict[str, Any] = {
        "status": result.status,
        "args": result.args,
        "kwargs": result.kwargs,
        "attempts": result.attempts,
        "finished": result.is_finished,
        "timestamps": all(
            (result.enqueued_at, result.started_at, result.last_attempted_at, result.finished_at)
        ),
    }
    if result.status == TaskResultStatus.SUCCESSFUL:
        value = result.return_value
        if isinstance(value, dict) and value.get("id") == result.id:
            value = {**value, "id": "<result id>", "backend": value["backend"] == result.backend}
        seen["return_value"] = value
    else:
        seen["errors"] = [
            (e.exception_class_path, e.traceback.strip().splitlines()[-1]) for e in result.errors
        ]
    return seen


@pytest.mark.parametrize(("task_fn", "args", "kwargs"), CASES, ids=lambda c: getattr(c, "name", ""))
def test_same_results_as_immediate_backend(
    task_fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    immediate = task_fn.using(backend="immediate").enqueue(*args, **kwargs)
    on_arq = wait_finished(task_fn.enqueue(*args, **kwargs))
    assert immediate.backend == "immediate" and on_arq.backend == "default"
    assert outcome(on_arq) == outcome(immediate)
