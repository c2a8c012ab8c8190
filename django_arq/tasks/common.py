"""What the tasks backend and the runner share: failures, loading a task, and its JSON values."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from traceback import format_exception_only
from typing import Any

from django.tasks import Task
from django.tasks.base import TaskError
from django.tasks.exceptions import InvalidTask
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from ..queues.describe import class_path
from ..queues.serializers import SerializedError

__all__ = ["MAX_DEPTH", "TaskFailed", "json_value", "load_task", "task_error", "task_times"]


#: How deeply lists and dicts may nest in a task's argument or result.
MAX_DEPTH = 100
_SCALARS = frozenset({str, int, float, bool, type(None)})


def json_value(value: Any, *, text_keys: bool = False, outer: int = 0) -> Any:
    """``value`` as Django keeps a task's arguments and result (``normalize_json``), checked to be
    writable as JSON and read back the same.

    ``TypeError`` for lists and dicts nested more than ``MAX_DEPTH`` deep (a value that contains
    itself too; ``outer`` containers around the values, such as the list of a task's arguments, do
    not count), which a worker or reader with less stack left could not rebuild, and for two keys of one
    dict that become the same key (bytes and text; with ``text_keys``, as JSON writes every key as
    text, ``1`` and ``"1"`` too); ``ValueError`` for an int of more digits than Python turns into
    text, which arq's worker cannot show (the arguments fail the job before it starts, a result
    after it ends).
    """
    normalized = _normalized(value, MAX_DEPTH + outer, text_keys)
    json.dumps(normalized)
    return normalized


def _normalized(value: Any, depth: int, text_keys: bool) -> Any:
    """``normalize_json(value)``, refusing what ``json_value`` refuses."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Mapping | Sequence) and not isinstance(value, str | bytes):
        if depth <= 0:
            raise TypeError(
                f"lists and dicts nested more than {MAX_DEPTH} deep (or a value that contains itself)"
            )
        if isinstance(value, Mapping):
            normalized = {
                _normalized(k, depth - 1, text_keys): _normalized(v, depth - 1, text_keys)
                for k, v in value.items()
            }
            if len(normalized) < len(value) or (
                text_keys
                and not all(type(k) is str for k in normalized)
                and len({_json_key(k) for k in normalized}) < len(normalized)
            ):
                _check_keys(value, text_keys)
            return normalized
        return [_normalized(v, depth - 1, text_keys) for v in value]
    return normalize_json(value)  # a scalar of a subclass, bytes, or a type Django refuses


def _check_keys(mapping: Mapping[Any, Any], text_keys: bool) -> None:
    """``TypeError`` naming two keys of ``mapping`` that normalise (or, with ``text_keys``, are
    written as JSON) to the same key."""
    seen: dict[Any, Any] = {}
    for key in mapping:
        same = normalize_json(key)
        if text_keys:
            same = _json_key(same)
        if same in seen:
            raise TypeError(f"the keys {seen[same]!r} and {key!r} of one dict are both written as {same!r}")
        seen[same] = key


def _json_key(key: Any) -> Any:
    """The text ``json.dumps`` writes a normalised dict key as (a key it refuses as it is)."""
    if type(key) is str:
        return key
    if key is True or key is False or key is None:
        return json.dumps(key)  # one of three constants: true, false, null
    if isinstance(key, float):
        return float.__repr__(key) if math.isfinite(key) else json.dumps(key)  # NaN, Infinity, -Infinity
    if isinstance(key, int):
        return int.__repr__(key)
    return key


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
