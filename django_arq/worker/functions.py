"""The arq Functions and CronJobs a worker runs, built from the dotted paths of its WORKER settings."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..function_options import FunctionOptions
from ..queues.arq_internals import (
    CronJob,
    Function,
    make_function,
    with_coroutine,
)
from ..schedules.cron_entries import cron_of_entry, cron_of_path

if TYPE_CHECKING:
    pass


__all__ = ["Coroutine", "cron_job", "ctx_problem", "import_setting", "job_function", "tasks_functions"]

Coroutine = Callable[..., Awaitable[Any]]


def import_setting(path: str, what: str) -> Any:
    try:
        return import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"cannot import {what} {path!r}: {exc}") from exc


def cron_job(entry: Any) -> CronJob:
    """The ``CronJob`` of a ``CRON_JOBS`` entry; ``ImproperlyConfigured`` if it could never run."""
    if isinstance(entry, str):
        return cron_of_path(entry)
    if isinstance(entry, CronJob):
        return entry
    if not isinstance(entry, Mapping) or "FUNCTION" not in entry:
        raise ImproperlyConfigured(
            f"a CRON_JOBS entry must be a dotted path or a dict with FUNCTION: {entry!r}"
        )
    job = cron_of_entry(entry)  # arq's checks and defaults, and ours
    function = import_setting(entry["FUNCTION"], "cron function")
    return with_coroutine(job, function)  # may be sync: run off-loop


def ctx_problem(fn: Any, what: str) -> str | None:
    """Why ``fn`` cannot be called as arq calls it, ``fn(ctx, *args, **kwargs)``; None if it can."""
    if not callable(fn):
        return f"{what} is not callable"
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # no signature to read (some builtins): nothing to say
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind in positional or p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None
    return (
        f"{what} cannot take ctx: arq passes its context dict as the first argument, "
        "so define it as def f(ctx, ...)"
    )


def job_function(options: FunctionOptions) -> Function:
    """The arq Function for a FUNCTIONS entry (sync functions allowed: the worker runs them off-loop)."""
    path = options.path
    fn = import_setting(path, "function")
    problem = ctx_problem(fn, f"function {path!r}")
    if problem:
        raise ImproperlyConfigured(problem)
    return make_function(
        path, fn, max_tries=options.max_tries, timeout_s=options.timeout, keep_result_s=options.keep_result
    )


def tasks_functions(alias: str) -> list[Function | Coroutine]:
    """Functions running Django tasks (Django >= 6.0), if ``django_arq.tasks`` provides them."""
    try:
        from ..tasks import worker_functions
    except (ImportError, AttributeError):
        return []
    return list(worker_functions(alias))
