"""Django's Tasks framework (``django.tasks``, Django 6.0+) on arq: ``ArqBackend``.

    TASKS = {
        "default": {
            "BACKEND": "django_arq.tasks.ArqBackend",
            "QUEUES": ["default", "emails"],
            "OPTIONS": {
                "ALIAS": "default",               # the ARQ_QUEUES alias the jobs go through
                "TASKS": {                        # per-task options, by the task's module path
                    "shop.tasks.sync_prices": {"MAX_TRIES": 5, "RETRY_ON": ["httpx.TransportError"]},
                },
            },
        }
    }

A task is enqueued as one arq job named ``django_arq.tasks.run_task`` (see ``runner``),
through ``get_queue(ALIAS)`` so that it gets a JobRecord like any other job. The result id is
the arq job id. Django queue ``"default"`` maps to the alias's DEFAULT_QUEUE_NAME, any other
Django queue ``N`` to the arq queue ``"<DEFAULT_QUEUE_NAME>:N"`` (``arq_queue_name``).
Results are read from Redis, so the alias must use ``RedisArqQueue``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.tasks import (
    DEFAULT_TASK_BACKEND_ALIAS,
    DEFAULT_TASK_QUEUE_NAME,
    Task,
    TaskResult,
    TaskResultStatus,
)
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.base import DEFAULT_TASK_PRIORITY
from django.tasks.exceptions import InvalidTask, InvalidTaskBackend, TaskResultDoesNotExist
from django.tasks.signals import task_enqueued
from django.utils.module_loading import import_string

from ..conf import DEFAULT_ALIAS, RUN_TASK, get_config
from ..fields import aware_time
from ..function_options import FunctionOptions, entry_problems, function_options
from ..handler import get_queue
from ..queues.arq_internals import (
    DeserializationError,
    deserialize_job,
    deserialize_result,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
)
from ..queues.attempts import logged_job_id
from ..queues.base import ArqQueue
from ..queues.describe import safe_repr
from ..queues.drivers import run_async, run_sync
from ..queues.jobs import JobMetadata
from ..queues.protocol import Call, Op
from ..queues.redis import RedisArqQueue
from ..queues.serializers import Serializer
from ..queues.text import storable_text
from .attempts import attempts_key, parse_attempts
from .common import json_value, load_task, task_error, task_times

__all__ = ["ArqBackend"]

OPTION_KEYS = frozenset({"ALIAS", "TASKS"})
#: How many characters of an id, or of another value read back, an error message shows.
SHOWN = 200
#: Keys of a FUNCTIONS dict that a task cannot have: every task runs in the one arq function run_task.
NOT_PER_TASK = ("FUNCTION", "KEEP_RESULT")


def _shown(value: Any) -> str:
    """``value``'s repr for an error message, cut to ``SHOWN`` characters (a long id before its
    repr is made)."""
    return storable_text(safe_repr(value[:SHOWN] if isinstance(value, str) else value), SHOWN)


class ArqBackend(BaseTaskBackend):
    """Runs ``@task`` functions on arq workers; results come back from Redis as ``TaskResult``s."""

    supports_defer = True  # run_after -> arq's _defer_until
    supports_async_task = True
    supports_get_result = True  # from any process, while arq keeps the result (KEEP_RESULT)
    supports_priority = False  # arq runs due jobs in order; there is no priority to map to

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.arq_alias: str = self.options.get("ALIAS", DEFAULT_ALIAS)

    @property
    def queue(self) -> ArqQueue:
        """The ``ARQ_QUEUES`` queue tasks are enqueued through (audited if the alias is)."""
        return get_queue(self.arq_alias)

    def redis_queue(self) -> RedisArqQueue:
        """The Redis backend of the alias, for reading results."""
        backend = self.queue.backend  # under the audit layer
        if not isinstance(backend, RedisArqQueue):
            raise InvalidTaskBackend(
                f"TASKS[{self.alias!r}] needs ARQ_QUEUES[{self.arq_alias!r}] to be a RedisArqQueue "
                f"to read results, not {type(backend).__name__}"
            )
        return backend

    def task_problems(self) -> list[str]:
        """Everything wrong with ``OPTIONS["TASKS"]``, as sentences."""
        tasks = self.options.get("TASKS", {})
        if not isinstance(tasks, Mapping):
            return [f"OPTIONS['TASKS'] must be a dict of task paths to options, not {type(tasks).__name__}"]
        problems = []
        for path, options in tasks.items():
            if not isinstance(path, str) or not isinstance(options, Mapping):
                problems.append(
                    f"OPTIONS['TASKS'] maps task paths to dicts of options: {path!r}: {options!r}"
                )
                continue
            if shared := sorted(set(NOT_PER_TASK) & set(options)):
                problems.append(
                    f"OPTIONS['TASKS'][{path!r}] cannot set {shared}: every task runs in the arq function "
                    f"{RUN_TASK}, whose KEEP_RESULT is the worker's"
                )
                continue
            problems += entry_problems({"FUNCTION": path, **options})
        return problems

    @cached_property
    def task_options(self) -> dict[str, FunctionOptions]:
        """The valid entries of ``OPTIONS["TASKS"]`` by task module path (the checks report the others)."""
        tasks = self.options.get("TASKS", {})
        if not isinstance(tasks, Mapping):
            return {}
        entries = (
            {"FUNCTION": path, **options}
            for path, options in tasks.items()
            if isinstance(options, Mapping) and not set(NOT_PER_TASK) & set(options)
        )
        return {e["FUNCTION"]: function_options(e) for e in entries if not entry_problems(e)}

    def arq_queue_name(self, queue_name: str) -> str:
        """The arq queue that serves a Django queue name."""
        default = self.queue.default_queue_name
        return default if queue_name == DEFAULT_TASK_QUEUE_NAME else f"{default}:{queue_name}"

    # -- validation --------------------------------------------------------------------------

    def validate_task(self, task: Task) -> None:
        """Django's checks, worded as Django's backends word them (detail after Django's sentence)."""
        if self.queues and task.queue_name not in self.queues:
            raise InvalidTask(
                f"Queue '{task.queue_name}' is not valid for backend. "
                f"TASKS[{self.alias!r}]['QUEUES'] is {sorted(self.queues)}."
            )
        if task.priority != DEFAULT_TASK_PRIORITY:
            raise InvalidTask(
                f"Backend does not support setting priority of tasks. arq runs due jobs in order "
                f"(got priority {task.priority!r}); use a separate queue for urgent tasks."
            )
        super().validate_task(task)  # with USE_TZ, run_after must be aware

    # -- enqueue -----------------------------------------------------------------------------

    def _job(
        self, task: Task, args: Sequence[Any], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arq job for one task call: run_task's arguments, and the enqueue options."""
        self.validate_task(task)
        text_keys = self.queue.serializer.text_keys
        try:
            task_args = json_value(args, text_keys=text_keys, outer=1)
            task_kwargs = json_value(kwargs, text_keys=text_keys, outer=1)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"arguments of task {task.module_path!r} must be JSON-serialisable: {exc}"
            ) from exc
        # with USE_TZ = False a naive run_after is a time in TIME_ZONE
        run_after = None if task.run_after is None else aware_time(task.run_after)
        options = {
            "backend": self.alias,
            "queue_name": task.queue_name,
            "run_after": run_after,
            "_queue_name": self.arq_queue_name(task.queue_name),
            "_defer_until": run_after,
            "_job_id": logged_job_id(),  # the worker logs each attempt when it claims the job
        }
        return (task.module_path, task_args, task_kwargs), options

    def _enqueued(self, task: Task, meta: JobMetadata, job_args: tuple[Any, ...]) -> TaskResult:
        return TaskResult(
            task=task,
            id=meta.id,
            status=TaskResultStatus.READY,
            enqueued_at=meta.enqueue_time,
            started_at=None,
            finished_at=None,
            last_attempted_at=None,
            args=job_args[1],
            kwargs=job_args[2],
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )

    def enqueue(self, task: Task, args: Sequence[Any], kwargs: dict[str, Any]) -> TaskResult:
        job_args, options = self._job(task, args, kwargs)
        meta = self.queue.enqueue_sync(RUN_TASK, *job_args, **options)
        result = self._enqueued(task, meta, job_args)
        task_enqueued.send(type(self), task_result=result)
        return result

    async def aenqueue(self, task: Task, args: Sequence[Any], kwargs: dict[str, Any]) -> TaskResult:
        job_args, options = self._job(task, args, kwargs)
        meta = await self.queue.enqueue(RUN_TASK, *job_args, **options)
        result = self._enqueued(task, meta, job_args)
        await task_enqueued.asend(type(self), task_result=result)
        return result

    # -- results -----------------------------------------------------------------------------

    def _read(self, result_id: Any, serializer: Serializer) -> Op[TaskResult]:
        """Read payload, progress, result and attempt log in one round trip, and decode them."""
        if not isinstance(result_id, str) or not result_id:
            raise TaskResultDoesNotExist(f"task result ids are non-empty strings, not {_shown(result_id)}")
        try:
            result_id.encode()  # a lone surrogate: no Redis key can hold it, no result has it
        except UnicodeEncodeError:
            raise TaskResultDoesNotExist(f"no task result has the id {_shown(result_id)}") from None
        reply = yield Call(
            (
                ("GET", job_key_prefix + result_id),
                ("EXISTS", in_progress_key_prefix + result_id),
                ("GET", result_key_prefix + result_id),
                ("LRANGE", attempts_key(result_id), 0, -1),
            ),
            transaction=True,
        )
        return self._decode(result_id, serializer, *reply)

    def _decode(
        self,
        result_id: str,
        serializer: Serializer,
        payload: bytes | None,
        running: int,
        stored: bytes | None,
        log: list[bytes],
    ) -> TaskResult:
        try:
            if stored is not None:
                job: Any = deserialize_result(stored, deserializer=serializer.loads)
            elif payload is not None:
                job = deserialize_job(payload, deserializer=serializer.loads)
            else:
                raise TaskResultDoesNotExist(
                    f"no task result with id {_shown(result_id)} (unknown, or its result expired)"
                )
        except DeserializationError as exc:
            raise TaskResultDoesNotExist(
                f"{_shown(result_id)} is an arq job this backend cannot read ({serializer.name} "
                f"serializer): {exc.__cause__ or exc}"
            ) from exc
        if job.function != RUN_TASK or len(job.args) != 3:
            raise TaskResultDoesNotExist(
                f"{_shown(result_id)} is an arq job of {_shown(job.function)}, not a Django task"
            )
        backend = job.kwargs.get("backend", DEFAULT_TASK_BACKEND_ALIAS)  # run_task's default
        if backend != self.alias:
            raise TaskResultDoesNotExist(
                f"{_shown(result_id)} is a task of TASKS[{_shown(backend)}], not of TASKS[{self.alias!r}]"
            )
        module_path, args, kwargs = job.args
        task = load_task(
            module_path,
            self.alias,
            job.kwargs.get("queue_name", DEFAULT_TASK_QUEUE_NAME),
            job.kwargs.get("run_after"),
        )
        attempts = parse_attempts(log)
        try:
            result: TaskResult[..., Any] = TaskResult(
                task=task,
                id=result_id,
                # RUNNING once the task has logged its attempt: a worker that has only claimed the job
                # (arq's in-progress key) has not started the task yet, and there is no start time
                status=TaskResultStatus.RUNNING if running and attempts else TaskResultStatus.READY,
                **task_times(job.enqueue_time, attempts, job.finish_time if stored is not None else None),
                args=args,
                kwargs=kwargs,
                backend=self.alias,
                errors=[],
                worker_ids=[a["worker_id"] for a in attempts],
            )
        except (RecursionError, TypeError, ValueError) as exc:  # enqueued around ArqBackend's checks
            raise TaskResultDoesNotExist(
                f"{_shown(result_id)} is a task whose arguments Django cannot rebuild: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if stored is not None:
            if job.success:
                object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
                object.__setattr__(result, "_return_value", job.result)
            else:
                object.__setattr__(result, "status", TaskResultStatus.FAILED)
                result.errors.append(task_error(job.result))
        return result

    def get_result(self, result_id: str) -> TaskResult:
        queue = self.redis_queue()
        return run_sync(self._read(result_id, queue.serializer), queue.sync_client(), queue.safe_url)

    async def aget_result(self, result_id: str) -> TaskResult:
        queue = self.redis_queue()
        return await run_async(self._read(result_id, queue.serializer), queue.async_client(), queue.safe_url)

    # -- system checks -----------------------------------------------------------------------

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        where = f"TASKS[{self.alias!r}]"
        messages: list[CheckMessage] = list(super().check(**kwargs))
        unknown = set(self.options) - OPTION_KEYS
        if unknown:
            messages.append(
                Error(
                    f"{where}['OPTIONS'] has unknown keys {sorted(unknown)}",
                    hint="valid keys: ALIAS, TASKS",
                    id="django_arq.T001",
                )
            )
        messages += [Error(f"{where}: {problem}", id="django_arq.T004") for problem in self.task_problems()]
        try:
            config = get_config(self.arq_alias)
        except ImproperlyConfigured as exc:
            messages.append(
                Error(f"{where}: OPTIONS['ALIAS'] {self.arq_alias!r}: {exc}", id="django_arq.T002")
            )
            return messages
        try:
            backend = import_string(config.backend)
        except ImportError:
            return messages  # reported by django_arq's own ARQ_QUEUES checks
        if not (isinstance(backend, type) and issubclass(backend, RedisArqQueue)):
            messages.append(
                Error(
                    f"{where}: ARQ_QUEUES[{self.arq_alias!r}] uses {config.backend}; ArqBackend reads task "
                    "results from Redis and needs a RedisArqQueue alias",
                    hint="for tests without Redis use django.tasks.backends.immediate.ImmediateBackend",
                    id="django_arq.T003",
                )
            )
        return messages
