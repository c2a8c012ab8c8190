"""The worker side of ``django_arq.tasks``: the arq job that runs one Django ``@task``.

Every Django task travels as one arq job named ``django_arq.tasks.run_task`` whose arguments
are the task's ``module_path``, its (JSON-normalised) args and kwargs, and keyword options
naming the ``TASKS`` backend, the Django queue and ``run_after``. ``run_task`` imports the
task (once per name), refuses anything that is not a ``django.tasks.Task`` of an ``ArqBackend``,
and runs it (``lifecycle``): it sends Django's task signals around the call with the task's
attempt log (which the worker appended this attempt to when it claimed the job), and leaves a
result that ``ArqBackend.get_result`` turns back into a ``TaskResult``.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache, partial
from inspect import iscoroutinefunction
from typing import Any, NamedTuple

from arq import func
from django.core.signals import setting_changed
from django.tasks import Task, task_backends
from django.tasks.exceptions import InvalidTask
from django.utils.module_loading import import_string

from ..conf import DEFAULT_ALIAS, RUN_TASK, max_tries
from ..function_options import FunctionOptions
from ..queues.arq_internals import Function, JobExecutionFailed
from ..queues.attempts import Entry, drop_logged, take_logged
from ..queues.drivers import run_async
from ..queues.job_threads import job_threads
from ..queues.reporting import current_job
from .attempts import read_attempts, record_attempt
from .backend import ArqBackend
from .common import load_task
from .lifecycle import Attempts, Run, drive

__all__ = ["run_task", "worker_functions"]


class Runnable(NamedTuple):
    """A task as the worker runs it: its backend's class (the signals' sender), its options."""

    task: Task
    sender: type[ArqBackend]
    options: FunctionOptions | None  # OPTIONS["TASKS"][path]
    tries: int  # its MAX_TRIES, else run_task's
    coroutine: bool  # whether its function is a coroutine function
    text_keys: bool  # whether its alias's serializer writes every dict key as text (JSON)


@lru_cache(maxsize=256)
def _runnable(module_path: str, backend: str, queue_name: str) -> Runnable:
    """``_load`` once per name, until TASKS or ARQ_QUEUES change."""
    return _load(module_path, backend, queue_name, None)


def _load(module_path: Any, backend: Any, queue_name: Any, run_after: datetime | None) -> Runnable:
    task = load_task(module_path, backend, queue_name, run_after)
    task_backend = task.get_backend()
    if not isinstance(task_backend, ArqBackend):
        raise InvalidTask(
            f"task {module_path!r} names TASKS[{backend!r}], a {type(task_backend).__name__}, "
            "not a django_arq.tasks.ArqBackend; refusing to run it"
        )
    options = task_backend.task_options.get(module_path)
    tries = (options.max_tries if options else None) or max_tries(task_backend.arq_alias, RUN_TASK)
    text_keys = task_backend.queue.serializer.text_keys
    return Runnable(task, type(task_backend), options, tries, iscoroutinefunction(task.func), text_keys)


def _resolve(module_path: Any, backend: Any, queue_name: Any, run_after: datetime | None) -> Runnable:
    if run_after is None and type(module_path) is type(backend) is type(queue_name) is str:
        return _runnable(module_path, backend, queue_name)
    return _load(module_path, backend, queue_name, run_after)


def _forget_tasks(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TASKS", "ARQ_QUEUES"):
        _runnable.cache_clear()


setting_changed.connect(_forget_tasks, dispatch_uid="django_arq.tasks.runner.forget")


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

    A failure is raised as ``TaskFailed`` (see ``lifecycle``). A sync task function runs in one
    of the worker's job threads (``max_jobs`` of them, as for sync job functions) together with
    the signals' receivers; a coroutine function on the loop.
    """
    job_id: str = ctx["job_id"]
    job_try: int = ctx["job_try"]
    logged = take_logged(ctx, job_id)
    try:
        task, sender, options, tries, coroutine, text_keys = _resolve(
            module_path, backend, queue_name, run_after
        )
        if job_try > tries:  # arq's own check, with this task's limit (run_task allows the most any has)
            raise JobExecutionFailed(f"max {tries} retries exceeded")
    except Exception:
        if logged is not None:  # not an attempt: the task does not run
            await run_async(drop_logged(job_id), ctx["redis"], "the worker's connection")
        raise
    run = Run(
        task=task,
        sender=sender,
        job_id=job_id,
        enqueued_at=ctx.get("enqueue_time"),
        args=args,
        kwargs=kwargs,
        backend=backend,
        attempts=_attempts(ctx["redis"], job_id, job_try, logged),
        coroutine=coroutine,
        text_keys=text_keys,
        timeout=options.timeout if options else None,
        retry_after=partial(options.retry.defer, job_try=job_try, max_tries=tries) if options else None,
    )
    job = current_job.set(ctx)  # report_progress(context, ...) finds the job's ctx by it
    try:
        return await drive(run, job_threads(ctx))
    finally:
        current_job.reset(job)


def _attempts(redis: Any, job_id: str, job_try: int, logged: Entry | None) -> Attempts:
    """The attempt log of this run, or how to get it: a first try's is the attempt the worker
    logged when it claimed the job; a retry's is read back; an attempt the worker did not log
    (a task id of another form) is appended now."""
    if logged is None:
        return partial(record_attempt, redis, job_id)
    if job_try == 1:
        return [logged]
    return partial(read_attempts, redis, job_id)


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
