"""The worker side of ``django_arq.tasks``: the arq job that runs one Django ``@task``.

Every Django task travels as one arq job named ``django_arq.tasks.run_task`` whose arguments
are the task's ``module_path``, its (JSON-normalised) args and kwargs, and keyword options
naming the ``TASKS`` backend, the Django queue and ``run_after``. ``run_task`` imports the
task, refuses anything that is not a ``django.tasks.Task`` of an ``ArqBackend``, runs it
(sync functions in a worker thread, coroutines on the loop), sends Django's task signals and
leaves a result that ``ArqBackend.get_result`` turns back into a ``TaskResult``.

Each attempt is appended to a small Redis list (``django-arq:task-attempts:<job id>``) so that
``worker_ids``, ``started_at`` and ``last_attempted_at`` survive arq retries.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from traceback import format_exception
from typing import Any

from arq import Retry, func
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus, task_backends
from django.tasks.base import TaskError
from django.tasks.exceptions import InvalidTask
from django.tasks.signals import task_finished, task_started
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from ..conf import DEFAULT_ALIAS, RUN_TASK, max_tries
from ..queues.arq_internals import Function, JobExecutionFailed
from ..queues.reporting import current_job
from .backend import ArqBackend
from .common import ATTEMPTS_TTL, TaskFailed, attempts_key, class_path, load_task, parse_attempts, worker_id

__all__ = ["record_attempt", "run_task", "worker_functions"]


async def record_attempt(ctx: dict[str, Any], job_id: str) -> list[dict[str, Any]]:
    """Append this attempt to the task's log in one round trip; return the whole log."""
    entry = {"worker_id": worker_id(), "at": datetime.now(UTC).isoformat()}
    key = attempts_key(job_id)
    async with ctx["redis"].pipeline(transaction=True) as pipe:
        pipe.rpush(key, json.dumps(entry))
        pipe.expire(key, ATTEMPTS_TTL)
        pipe.lrange(key, 0, -1)
        *_, raw = await pipe.execute()
    return parse_attempts(raw)


def _call_in_thread(task: Task, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Run a sync task function in a worker thread, as a Django request would: fresh DB connections."""
    close_old_connections()
    try:
        return task.func(*args, **kwargs)
    finally:
        close_old_connections()


async def _call(task: Task, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    if inspect.iscoroutinefunction(task.func):
        return await task.func(*args, **kwargs)
    return await sync_to_async(_call_in_thread, thread_sensitive=False)(task, args, kwargs)


def _set(result: TaskResult, **changes: Any) -> None:
    for name, value in changes.items():
        object.__setattr__(result, name, value)


async def run_task(
    ctx: dict[str, Any],
    module_path: str,
    args: list[Any],
    kwargs: dict[str, Any],
    *,
    backend: str = "default",
    queue_name: str = "default",
    run_after: datetime | None = None,
) -> Any:
    """The arq job of every Django task: run ``module_path`` and return its JSON-normalised value.

    A failure is raised as ``TaskFailed`` (class path and traceback), whatever the task raised but
    a cancellation: ``SystemExit`` and ``KeyboardInterrupt`` too, which fail the task (as Django's
    ImmediateBackend records them) and leave the worker running. ``arq.Retry`` raised by the task
    passes through so that arq runs it again later.
    """
    task = load_task(module_path, backend, queue_name, run_after)
    task_backend = task.get_backend()
    if not isinstance(task_backend, ArqBackend):
        raise InvalidTask(
            f"task {module_path!r} names TASKS[{backend!r}], a {type(task_backend).__name__}, "
            "not a django_arq.tasks.ArqBackend; refusing to run it"
        )
    options = task_backend.task_options.get(module_path)
    tries = (options.max_tries if options else None) or max_tries(task_backend.arq_alias, RUN_TASK)
    if ctx["job_try"] > tries:  # arq's own check, with this task's limit (run_task allows the most any has)
        raise JobExecutionFailed(f"max {tries} retries exceeded")
    job_id: str = ctx["job_id"]
    attempts = await record_attempt(ctx, job_id)
    result: TaskResult[..., Any] = TaskResult(
        task=task,
        id=job_id,
        status=TaskResultStatus.RUNNING,
        enqueued_at=ctx.get("enqueue_time"),
        started_at=attempts[0]["at"],
        finished_at=None,
        last_attempted_at=attempts[-1]["at"],
        args=args,
        kwargs=kwargs,
        backend=backend,
        errors=[],
        worker_ids=[a["worker_id"] for a in attempts],
    )
    sender = type(task_backend)
    await task_started.asend(sender=sender, task_result=result)
    call_args = [TaskContext(task_result=result), *result.args] if task.takes_context else result.args
    job = current_job.set(ctx)  # report_progress(context, ...) finds the job's ctx by it
    try:
        call = _call(task, call_args, result.kwargs)
        value = normalize_json(await (call if options is None else asyncio.wait_for(call, options.timeout)))
    except (Retry, asyncio.CancelledError):
        raise
    except BaseException as exc:
        defer = options.retry.defer(exc, ctx["job_try"], tries) if options else None
        if defer is not None:  # a task exception its RETRY_ON lists (never a BaseException)
            raise Retry(defer=defer) from exc
        error = TaskError(
            exception_class_path=class_path(type(exc)), traceback="".join(format_exception(exc))
        )
        _set(result, status=TaskResultStatus.FAILED, finished_at=datetime.now(UTC), errors=[error])
        await task_finished.asend(sender=sender, task_result=result)
        raise TaskFailed(error.exception_class_path, error.traceback) from exc
    finally:
        current_job.reset(job)
    _set(result, status=TaskResultStatus.SUCCESSFUL, finished_at=datetime.now(UTC), _return_value=value)
    await task_finished.asend(sender=sender, task_result=result)
    return value


def worker_functions(alias: str) -> list[Function]:
    """The arq functions a worker for ``ARQ_QUEUES[alias]`` registers to run Django tasks.

    ``[func(run_task, name="django_arq.tasks.run_task")]`` if a ``TASKS`` backend is an
    ``ArqBackend`` whose ``OPTIONS["ALIAS"]`` is ``alias``; ``[]`` otherwise.
    """
    backends = []
    for name, params in task_backends.settings.items():
        try:
            backend = import_string(params["BACKEND"])
        except (ImportError, KeyError):
            continue
        target = (params.get("OPTIONS") or {}).get("ALIAS", DEFAULT_ALIAS)
        if isinstance(backend, type) and issubclass(backend, ArqBackend) and target == alias:
            instance = task_backends[name]
            if isinstance(instance, ArqBackend):
                backends.append(instance)
    if not backends:
        return []
    # arq stops a job at its function's max_tries: allow as many as the task allowed the most
    tries = [o.max_tries for b in backends for o in b.task_options.values() if o.max_tries]
    return [func(run_task, name=RUN_TASK, max_tries=max([max_tries(alias, RUN_TASK), *tries]))]
