"""``QueueWrapper``: an ``ArqQueue`` that hands every call to the queue it wraps.

The layers that add something around an alias's backend (JobRecords, metrics) subclass it and
override only the calls they change; the capabilities ``ArqQueue`` declares stay the backend's.
"""

from __future__ import annotations

from collections.abc import Sequence

from arq.connections import RedisSettings

from .base import ArqQueue
from .heartbeats import WorkerEntry
from .jobs import JobMetadata, JobResult, JobSpec, QueueCounts

__all__ = ["QueueWrapper"]


class QueueWrapper(ArqQueue):
    """Delegates everything to ``wrapped``; ``.backend`` is the backend under every wrapper."""

    def __init__(self, wrapped: ArqQueue) -> None:
        super().__init__(default_queue_name=wrapped.default_queue_name, abort_timeout=wrapped.abort_timeout)
        self._backend = wrapped
        self.serializer = wrapped.serializer
        self.jobs_run_in_process = wrapped.jobs_run_in_process

    @property
    def backend(self) -> ArqQueue:
        return self._backend.backend

    @property
    def default_queue_name(self) -> str:
        return self._backend.default_queue_name

    @property
    def redis_settings(self) -> RedisSettings | None:
        return self._backend.redis_settings

    @property
    def location(self) -> str:
        return self._backend.location

    async def enqueue_many(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        return await self._backend.enqueue_many(jobs)

    def enqueue_many_sync(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        return self._backend.enqueue_many_sync(jobs)

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        return await self._backend.abort_job(job_id, queue_name, timeout=timeout)

    def abort_job_sync(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        return self._backend.abort_job_sync(job_id, queue_name, timeout=timeout)

    async def get_job_metadata(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        return await self._backend.get_job_metadata(job_id, queue_name)

    async def get_job_result(self, job_id: str, queue_name: str | None = None) -> JobResult:
        return await self._backend.get_job_result(job_id, queue_name)

    async def get_job(self, job_id: str, queue_name: str | None = None) -> JobMetadata | JobResult:
        return await self._backend.get_job(job_id, queue_name)

    async def count_jobs(self, queue_names: Sequence[str]) -> list[QueueCounts]:
        return await self._backend.count_jobs(queue_names)

    def get_job_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata | JobResult:
        return self._backend.get_job_sync(job_id, queue_name)

    def count_jobs_sync(self, queue_names: Sequence[str]) -> list[QueueCounts]:
        return self._backend.count_jobs_sync(queue_names)

    async def list_workers(self, queue_name: str, lost_after: float) -> list[WorkerEntry]:
        return await self._backend.list_workers(queue_name, lost_after)

    def list_workers_sync(self, queue_name: str, lost_after: float) -> list[WorkerEntry]:
        return self._backend.list_workers_sync(queue_name, lost_after)

    def get_job_metadata_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        return self._backend.get_job_metadata_sync(job_id, queue_name)

    def get_job_result_sync(self, job_id: str, queue_name: str | None = None) -> JobResult:
        return self._backend.get_job_result_sync(job_id, queue_name)

    async def aclose(self) -> None:
        await self._backend.aclose()

    def close(self) -> None:
        self._backend.close()
