"""The ArqQueue interface: one async API, with sync twins, that every backend implements."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from arq.connections import RedisSettings
from asgiref.sync import async_to_sync

from .arq_internals import default_queue_name as ARQ_DEFAULT_QUEUE_NAME
from .exceptions import JobNotFound
from .heartbeats import WorkerEntry
from .jobs import JobMetadata, JobResult, JobSpec, JobStatus, QueueCounts, Seconds
from .serializers import Serializer, get_serializer

__all__ = ["DEFAULT_ABORT_TIMEOUT", "ArqQueue", "AuditMode", "QueueConfig"]

#: How long ``abort_job(timeout=None)`` waits for a worker before raising ``TimeoutError``.
DEFAULT_ABORT_TIMEOUT = 10.0
#: ``AUDIT`` of an alias: records batched by a background writer outside transactions (True),
#: committed in the enqueue call ("immediate"), or none (False).
AuditMode = bool | Literal["immediate"]


@dataclass(frozen=True)
class QueueConfig:
    """One alias of ``ARQ_QUEUES``, validated and with every default filled in."""

    alias: str = "default"
    backend: str = "django_arq.RedisArqQueue"
    redis_url: str = "redis://localhost:6379/0"
    default_queue_name: str = ARQ_DEFAULT_QUEUE_NAME
    options: Mapping[str, Any] = field(default_factory=dict)
    serializer: str = "pickle"
    audit: AuditMode = True
    abort_timeout: float = DEFAULT_ABORT_TIMEOUT
    worker: Mapping[str, Any] = field(default_factory=dict)
    #: Spans of enqueues and job runs, when ``opentelemetry-api`` is installed (``django_arq.tracing``).
    tracing: bool = True


class ArqQueue(abc.ABC):
    """A common interface to an arq queue, with a Redis and an in-memory implementation.

    What a backend can do beyond the seed's calls is declared here, not probed: ``redis_settings``
    (None when no arq worker can serve it), ``jobs_run_in_process``, ``location`` (for messages),
    ``backend`` (the backend under any wrapper), ``get_job`` (metadata or result in one call) and
    ``count_jobs`` (``NotImplementedError`` where a backend cannot count) and ``list_workers``
    (the heartbeats of a queue's workers; ``NotImplementedError`` where no worker beats).
    """

    #: True for backends whose jobs run in the calling process (the mock), not on arq workers.
    jobs_run_in_process: bool = False
    #: Called with the jobs of every enqueue before anything is sent; may raise to refuse them
    #: (the handler sets it to check names against the alias's ``WORKER["FUNCTIONS"]``).
    name_check: Callable[[Sequence[JobSpec]], None] | None = None

    def __init__(
        self,
        *,
        default_queue_name: str = ARQ_DEFAULT_QUEUE_NAME,
        abort_timeout: float = DEFAULT_ABORT_TIMEOUT,
        serializer: str = "pickle",
    ) -> None:
        self._default_queue_name = default_queue_name
        self.abort_timeout = abort_timeout
        self.serializer: Serializer = get_serializer(serializer)

    @classmethod
    def from_config(cls, config: QueueConfig) -> ArqQueue:
        """Build the backend for one ``ARQ_QUEUES`` alias."""
        return cls(
            default_queue_name=config.default_queue_name,
            abort_timeout=config.abort_timeout,
            serializer=config.serializer,
        )

    @property
    def default_queue_name(self) -> str:
        """Name of the queue used when a call gives no ``_queue_name`` / ``queue_name``."""
        return self._default_queue_name

    @property
    def backend(self) -> ArqQueue:
        """The backend that talks to the store: this queue, or the one a wrapper (the audit layer) holds."""
        return self

    @property
    def redis_settings(self) -> RedisSettings | None:
        """arq's ``RedisSettings`` a worker for this queue connects with; None if it has no Redis."""
        return None

    @property
    def location(self) -> str:
        """Where the jobs are kept, for messages (a Redis URL with its password hidden)."""
        return "memory"

    def _check_names(self, jobs: Sequence[JobSpec]) -> None:
        """Backends call this first in ``enqueue_many`` and its twin."""
        if self.name_check is not None:
            self.name_check(jobs)

    def _abort_wait(self, timeout: float | None) -> float:
        return self.abort_timeout if timeout is None else timeout

    # -- async API ---------------------------------------------------------------------------

    async def enqueue(
        self,
        task_name: str,
        *task_args: Any,
        _queue_name: str | None = None,
        _job_id: str | None = None,
        _defer_until: datetime | None = None,
        _defer_by: Seconds | None = None,
        _expires: Seconds | None = None,
        **task_kwargs: Any,
    ) -> JobMetadata:
        """Add a job to the queue; ``JobNotQueued`` if it was not added (e.g. duplicate ``_job_id``)."""
        spec = JobSpec(
            task_name, task_args, task_kwargs, _queue_name, _job_id, _defer_until, _defer_by, _expires
        )
        (metadata,) = await self.enqueue_many([spec])
        return metadata

    @abc.abstractmethod
    async def enqueue_many(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        """Add several jobs in one round trip: all of them, or none if any id is taken."""

    @abc.abstractmethod
    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        """Abort a queued, deferred or running job; False if it is unknown or already finished.

        ``timeout=None`` waits at most ``abort_timeout`` seconds (``ABORT_TIMEOUT``); if no worker
        confirms by then, ``TimeoutError`` is raised and the abort request stays in place.
        """

    @abc.abstractmethod
    async def get_job_metadata(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        """Metadata of a job; ``JobNotFound`` for an unknown id."""

    @abc.abstractmethod
    async def get_job_result(self, job_id: str, queue_name: str | None = None) -> JobResult:
        """Result of a finished job; ``JobResultUnavailable`` until then, ``JobNotFound`` if unknown."""

    async def get_job(self, job_id: str, queue_name: str | None = None) -> JobMetadata | JobResult:
        """The ``JobResult`` of a finished job, else its ``JobMetadata``; ``JobNotFound`` if unknown."""
        metadata = await self.get_job_metadata(job_id, queue_name)
        if metadata.status is not JobStatus.complete:
            return metadata
        try:
            return await self.get_job_result(job_id, queue_name)
        except JobNotFound:  # expired between the two reads
            return metadata

    async def count_jobs(self, queue_names: Sequence[str]) -> list[QueueCounts]:
        """Queued, deferred and running jobs of each queue; ``NotImplementedError`` if not supported."""
        raise NotImplementedError(f"{type(self).__name__} does not count jobs")

    async def aclose(self) -> None:  # noqa: B027 - a no-op by default
        """Release connections held for the current event loop."""

    # -- sync twins: same parameters, for sync views, admin actions, commands, the shell ------

    def enqueue_sync(
        self,
        task_name: str,
        *task_args: Any,
        _queue_name: str | None = None,
        _job_id: str | None = None,
        _defer_until: datetime | None = None,
        _defer_by: Seconds | None = None,
        _expires: Seconds | None = None,
        **task_kwargs: Any,
    ) -> JobMetadata:
        """Blocking twin of ``enqueue``."""
        spec = JobSpec(
            task_name, task_args, task_kwargs, _queue_name, _job_id, _defer_until, _defer_by, _expires
        )
        (metadata,) = self.enqueue_many_sync([spec])
        return metadata

    def enqueue_many_sync(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        """Blocking twin of ``enqueue_many``."""
        return async_to_sync(self.enqueue_many)(jobs)

    def abort_job_sync(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        """Blocking twin of ``abort_job``."""
        return async_to_sync(self.abort_job)(job_id, queue_name, timeout=timeout)

    def get_job_metadata_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        """Blocking twin of ``get_job_metadata``."""
        return async_to_sync(self.get_job_metadata)(job_id, queue_name)

    def get_job_result_sync(self, job_id: str, queue_name: str | None = None) -> JobResult:
        """Blocking twin of ``get_job_result``."""
        return async_to_sync(self.get_job_result)(job_id, queue_name)

    def get_job_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata | JobResult:
        """Blocking twin of ``get_job``."""
        return async_to_sync(self.get_job)(job_id, queue_name)

    def count_jobs_sync(self, queue_names: Sequence[str]) -> list[QueueCounts]:
        """Blocking twin of ``count_jobs``."""
        return async_to_sync(self.count_jobs)(queue_names)

    async def list_workers(self, queue_name: str, lost_after: float) -> list[WorkerEntry]:
        """The live and recently lost workers of a queue, from their heartbeats."""
        raise NotImplementedError(f"{type(self).__name__} has no worker heartbeats")

    def list_workers_sync(self, queue_name: str, lost_after: float) -> list[WorkerEntry]:
        """Blocking twin of ``list_workers``."""
        return async_to_sync(self.list_workers)(queue_name, lost_after)

    def close(self) -> None:  # noqa: B027 - a no-op by default
        """Release connections held for blocking calls."""
