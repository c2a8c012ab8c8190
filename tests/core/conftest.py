"""The contract fixtures: a queue per backend, each with a real worker (or the mock's worker thread)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import redis
from django.conf import settings

from django_arq import ArqQueue, MockArqQueue, RedisArqQueue
from django_arq.queues.heartbeats import LIVE_PREFIX, LOST_PREFIX, PREFIX
from tests.helpers import Process, start_arq_worker

StartWorker = Callable[[str], Awaitable[None]]


class MockWorker(threading.Thread):
    """Runs a MockArqQueue's due jobs from another thread and event loop, as a worker process would."""

    def __init__(self, queue: MockArqQueue, queue_name: str) -> None:
        super().__init__(daemon=True)
        self.queue, self.queue_name = queue, queue_name
        self.stopping = threading.Event()

    def run(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        while not self.stopping.is_set():
            await self.queue.run_queued(queue_name=self.queue_name)
            await asyncio.sleep(0.005)

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


@pytest.fixture(params=["redis", "mock"])
async def backend(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[tuple[ArqQueue, StartWorker]]:
    """(queue, start_worker): the queue has workers on TEST_QUEUE and TEST_OTHER_QUEUE;
    ``await start_worker(name)`` starts one more on another queue for the rest of the test."""
    runners: list[MockWorker] = []
    processes: list[Process] = []
    queue: ArqQueue
    if request.param == "redis":
        request.getfixturevalue("arq_workers")
        queue = RedisArqQueue(redis_url, default_queue_name=settings.TEST_QUEUE, abort_timeout=5)

        async def start_worker(name: str) -> None:
            processes.append(await asyncio.to_thread(start_arq_worker, redis_url, name))

    else:
        mock = queue = MockArqQueue(default_queue_name=settings.TEST_QUEUE, abort_timeout=5)

        async def start_worker(name: str) -> None:
            runners.append(MockWorker(mock, name))
            runners[-1].start()

        for name in (settings.TEST_QUEUE, settings.TEST_OTHER_QUEUE):
            await start_worker(name)
    yield queue, start_worker
    for runner in runners:
        runner.stop()
    for process in processes:
        process.stop()
    await queue.aclose()


@pytest.fixture(params=["redis", "mock"])
def sync_queue(request: pytest.FixtureRequest, redis_url: str) -> Iterator[ArqQueue]:
    """A queue without a worker, for the blocking twins."""
    queue: ArqQueue
    if request.param == "redis":
        queue = RedisArqQueue(redis_url, default_queue_name=settings.TEST_QUEUE + ":sync", abort_timeout=0.3)
    else:
        queue = MockArqQueue(default_queue_name=settings.TEST_QUEUE + ":sync", abort_timeout=0.3)
    yield queue
    queue.close()


@pytest.fixture
def heartbeat_queue(redis_client: redis.Redis) -> Iterator[str]:
    """A queue name of the test's own; its heartbeat keys and ``hbjob-*`` jobs are deleted afterwards."""
    name = f"django-arq-tests:hb:{uuid.uuid4().hex[:10]}"
    yield name
    keys = [name, LIVE_PREFIX + name, LOST_PREFIX + name]
    for pattern in (f"{PREFIX}{name}*", "arq:*:hbjob-*"):
        keys += list(redis_client.scan_iter(pattern))
    redis_client.delete(*keys)
