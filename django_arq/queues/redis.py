"""RedisArqQueue: the production backend, on arq's own Redis keys."""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import redis
import redis.asyncio
from arq.connections import RedisSettings

from ..tracing import enqueue_tracer
from .base import DEFAULT_ABORT_TIMEOUT, ArqQueue, QueueConfig
from .connection import ConnectionFactory
from .drivers import run_async, run_sync
from .heartbeats import WorkerEntry, read_workers
from .jobs import JobMetadata, JobResult, JobSpec, QueueCounts
from .protocol import Op, RedisProtocol

__all__ = ["RedisArqQueue"]

T = TypeVar("T")


class RedisArqQueue(ArqQueue):
    """Enqueues and inspects arq jobs in Redis, one round trip per call.

    Blocking calls share one thread-safe connection pool; async calls get a pool per event
    loop, so the same instance works under an ASGI server, ``async_to_sync`` and pytest.
    """

    def __init__(
        self,
        redis_url: str = "redis://localhost:6379/0",
        *,
        default_queue_name: str = "arq:queue",
        options: Mapping[str, Any] | None = None,
        serializer: str = "pickle",
        abort_timeout: float = DEFAULT_ABORT_TIMEOUT,
        tracing: bool = True,
    ) -> None:
        super().__init__(
            default_queue_name=default_queue_name, abort_timeout=abort_timeout, serializer=serializer
        )
        self._connections = ConnectionFactory(redis_url, options)
        tracer = enqueue_tracer(tracing)  # None without OpenTelemetry: nothing of it is imported
        self._protocol = RedisProtocol(self.serializer, default_queue_name, tracer=tracer)
        self._sync_client: redis.Redis | None = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: QueueConfig) -> RedisArqQueue:
        return cls(
            config.redis_url,
            default_queue_name=config.default_queue_name,
            options=config.options,
            serializer=config.serializer,
            abort_timeout=config.abort_timeout,
            tracing=config.tracing,
        )

    def __repr__(self) -> str:
        return f"<RedisArqQueue {self._connections.safe_url} queue={self.default_queue_name!r}>"

    @property
    def redis_settings(self) -> RedisSettings:
        """arq's RedisSettings for this queue, as the worker uses them."""
        return self._connections.arq_settings()

    @property
    def location(self) -> str:
        return self._connections.safe_url

    @property
    def safe_url(self) -> str:
        """The Redis URL with its password hidden."""
        return self._connections.safe_url

    # -- clients -----------------------------------------------------------------------------

    def sync_client(self) -> redis.Redis:
        """The blocking client shared by all threads."""
        client = self._sync_client
        if client is None:
            with self._lock:
                if self._sync_client is None:
                    self._sync_client = self._connections.sync_client()
                client = self._sync_client
        return client

    def async_client(self) -> redis.asyncio.Redis:
        """The asyncio client of the running event loop."""
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            with self._lock:
                for old_loop in [lp for lp in self._async_clients if lp.is_closed()]:
                    del self._async_clients[old_loop]
                client = self._async_clients[loop] = self._connections.async_client()
        return client

    async def _run(self, op: Op[T]) -> T:
        return await run_async(op, self.async_client(), self.safe_url)

    def _run_sync(self, op: Op[T]) -> T:
        return run_sync(op, self.sync_client(), self.safe_url)

    # -- API ---------------------------------------------------------------------------------

    async def enqueue_many(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        self._check_names(jobs)
        return await self._run(self._protocol.enqueue(jobs))

    async def abort_job(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        return await self._run(self._protocol.abort(job_id, queue_name, self._abort_wait(timeout)))

    async def get_job_metadata(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        return await self._run(self._protocol.get_metadata(job_id, queue_name))

    async def get_job_result(self, job_id: str, queue_name: str | None = None) -> JobResult:
        return await self._run(self._protocol.get_result(job_id, queue_name))

    async def get_job(self, job_id: str, queue_name: str | None = None) -> JobMetadata | JobResult:
        return await self._run(self._protocol.get_job(job_id, queue_name))

    async def count_jobs(self, queue_names: Sequence[str]) -> list[QueueCounts]:
        return await self._run(self._protocol.count(queue_names))

    async def list_workers(self, queue_name: str, lost_after: float) -> list[WorkerEntry]:
        return await self._run(read_workers(queue_name, lost_after))

    async def aclose(self) -> None:
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()
        self.close()

    def enqueue_many_sync(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        self._check_names(jobs)
        return self._run_sync(self._protocol.enqueue(jobs))

    def abort_job_sync(
        self, job_id: str, queue_name: str | None = None, *, timeout: float | None = None
    ) -> bool:
        return self._run_sync(self._protocol.abort(job_id, queue_name, self._abort_wait(timeout)))

    def get_job_metadata_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata:
        return self._run_sync(self._protocol.get_metadata(job_id, queue_name))

    def get_job_result_sync(self, job_id: str, queue_name: str | None = None) -> JobResult:
        return self._run_sync(self._protocol.get_result(job_id, queue_name))

    def get_job_sync(self, job_id: str, queue_name: str | None = None) -> JobMetadata | JobResult:
        return self._run_sync(self._protocol.get_job(job_id, queue_name))

    def count_jobs_sync(self, queue_names: Sequence[str]) -> list[QueueCounts]:
        return self._run_sync(self._protocol.count(queue_names))

    def list_workers_sync(self, queue_name: str, lost_after: float) -> list[WorkerEntry]:
        return self._run_sync(read_workers(queue_name, lost_after))

    def close(self) -> None:
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()
            client.connection_pool.disconnect()
