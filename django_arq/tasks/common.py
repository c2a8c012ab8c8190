"""What the tasks backend and the runner share: failures, loading a task, and its JSON values."""

from __future__ import annotations

import json
from datetime import datetime
from traceback import format_exception_only
from typing import Any

from django.tasks import Task
from django.tasks.base import TaskError
from django.tasks.exceptions import InvalidTask
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from ..queues.serializers import SerializedError

__all__ = ["TaskFailed", "class_path", "json_value", "load_task", "task_error", "task_times"]


def json_value(value: Any) -> Any:
    """``value`` as Django keeps a task's arguments and result (``normalize_json``), checked to be
    writable as JSON: ``ValueError`` for an int of more digits than Python turns into text, which
    arq's worker cannot show (the arguments fail the job before it starts, a result after it ends)."""
    normalized = normalize_json(value)
    json.dumps(normalized)
    return normalized


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class TaskFailed(Exception):
    """A Django task raised: carries its exception class path and traceback in arq's result.

    ``str()`` is the class path, a newline and the traceback, so the same text survives the
    JSON serializer (which keeps an exception's class and message only).
    """

    def __init__(self, exception_class_path: str, traceback: str) -> None:
        super().__init__(exception_class_path, traceback)
        self.exception_class_path = exception_class_path
        self.traceback = traceback

    def __str__(self) -> str:
        return f"{self.exception_class_path}\n{self.traceback}"


def task_times(
    enqueued_at: datetime | None, attempts: list[dict[str, Any]], finished_at: datetime | None = None
) -> dict[str, datetime | None]:
    """A task result's four times, in their order.

    arq keeps the enqueue and finish times rounded to the nearest millisecond, the attempt log to
    the microsecond: a task claimed or ended within half a millisecond would otherwise seem to
    start before it was enqueued, or to finish before its last attempt.
    """
    started = attempts[0]["at"] if attempts else None
    last = attempts[-1]["at"] if attempts else None
    if enqueued_at is not None and started is not None:
        enqueued_at = min(enqueued_at, started)
    if finished_at is not None and last is not None:
        finished_at = max(finished_at, last)
    return {
        "enqueued_at": enqueued_at,
        "started_at": started,
        "last_attempted_at": last,
        "finished_at": finished_at,
    }


def task_error(value: Any) -> TaskError:
    """The ``TaskError`` for a failed arq result (``TaskFailed``, an arq failure, or its JSON form)."""
    if isinstance(value, SerializedError):
        if value.type_name == class_path(TaskFailed):
            path, _, traceback = value.message.partition("\n")
            return TaskError(exception_class_path=path, traceback=traceback)
        return TaskError(
            exception_class_path=value.type_name, traceback=f"{value.type_name}: {value.message}\n"
        )
    if isinstance(value, TaskFailed):
        return TaskError(exception_class_path=value.exception_class_path, traceback=value.traceback)
    if isinstance(value, BaseException):  # failed in arq itself: timeout, abort, max tries, refused payload
        return TaskError(
            exception_class_path=class_path(type(value)), traceback="".join(format_exception_only(value))
        )
    return TaskError(
        exception_class_path=class_path(Exception), traceback=f"arq stored a failure: {value!r}\n"
    )


def load_task(module_path: Any, backend: str, queue_name: str, run_after: datetime | None) -> Task:
    """The ``Task`` at ``module_path``, as it was enqueued; ``InvalidTask`` for anything else."""
    if not isinstance(module_path, str):
        raise InvalidTask(f"a task path must be a string, not {type(module_path).__name__}")
    try:
        found = import_string(module_path)
    except ImportError as exc:
        raise InvalidTask(f"cannot import task {module_path!r}: {exc}") from exc
    if not isinstance(found, Task):
        raise InvalidTask(
            f"{module_path!r} is a {type(found).__name__}, not a django.tasks Task; "
            "only functions decorated with @task can run as Django tasks"
        )
    changes: dict[str, Any] = {"backend": backend, "queue_name": queue_name}
    if run_after is not None:
        changes["run_after"] = run_after
    return found.using(**changes)
