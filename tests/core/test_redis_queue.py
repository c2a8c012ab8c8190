"""``RedisArqQueue`` itself, without a worker: what it is built from, the clients it keeps (one
blocking, one per event loop), and that each call, blocking or async, takes its queue name,
timeout and worker limit from its arguments."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis

from django_arq import RedisArqQueue
from django_arq.queues.base import DEFAULT_ABORT_TIMEOUT, QueueConfig
from django_arq.queues.exceptions import InvalidJob, JobNotFound, JobResultUnavailable, RedisUnavailable
from django_arq.queues.heartbeats import PREFIX, beat
from django_arq.queues.jobs import JobSpec, JobStatus


@pytest.fixture
def names(redis_client: redis.Redis) -> Iterator[tuple[str, str]]:
    """(default queue, other queue), both of the test's own and emptied afterwards."""
    made = tuple(f"django-arq-tests:rq:{uuid.uuid4().hex[:10]}:{n}" for n in ("default", "other"))
    yield made  # type: ignore[misc]
    for name in made:
        redis_client.delete(name, f"django-arq:workers:{name}", *redis_client.scan_iter(f"{PREFIX}{name}*"))


@pytest.fixture
async def queue(redis_url: str, names: tuple[str, str]) -> AsyncIterator[RedisArqQueue]:
    made = RedisArqQueue(redis_url, default_queue_name=names[0], abort_timeout=30)
    yield made
    await made.aclose()


def test_from_config_takes_every_setting_of_the_alias() -> None:
    config = QueueConfig(
        redis_url="redis://:secret@127.0.0.1:6379/13",
        default_queue_name="cfg:queue",
        options={"conn_timeout": 3, "socket_timeout": 4.5},
        serializer="json",
        abort_timeout=2.5,
        tracing=False,
    )
    queue = RedisArqQueue.from_config(config)
    assert (queue.default_queue_name, queue.abort_timeout, queue.serializer.name) == (
        "cfg:queue",
        2.5,
        "json",
    )
    settings = queue.redis_settings
    assert (settings.host, settings.port, settings.database) == ("127.0.0.1", 6379, 13)
    assert (settings.password, settings.conn_timeout) == ("secret", 3)
    assert queue.sync_client().connection_pool.connection_kwargs["socket_timeout"] == 4.5
    assert queue.location == queue.safe_url == "redis://:***@127.0.0.1:6379/13"
    assert repr(queue) == "<RedisArqQueue redis://:***@127.0.0.1:6379/13 queue='cfg:queue'>"
    assert queue._protocol.tracer is None
    queue.close()


def test_by_default_a_queue_is_arq_s_on_local_redis_and_traced() -> None:
    queue = RedisArqQueue()
    assert (queue.location, queue.default_queue_name) == ("redis://localhost:6379/0", "arq:queue")
    assert (queue.serializer.name, queue.abort_timeout) == ("pickle", DEFAULT_ABORT_TIMEOUT)
    pytest.importorskip("opentelemetry")
    assert queue._protocol.tracer is not None
    assert RedisArqQueue.from_config(QueueConfig())._protocol.tracer is not None


async def test_a_redis_that_cannot_be_reached_is_named_in_the_error() -> None:
    queue = RedisArqQueue("redis://127.0.0.1:1/0")  # nothing listens there
    named = "^" + re.escape("Redis at redis://127.0.0.1:1/0 is unavailable")
    try:
        with pytest.raises(RedisUnavailable, match=named):
            await queue.get_job("job")
        with pytest.raises(RedisUnavailable, match=named):
            queue.get_job_sync("job")
    finally:
        await queue.aclose()


async def test_jobs_go_to_the_default_queue_in_the_queue_s_serializer(
    redis_url: str, redis_client: redis.Redis, names: tuple[str, str]
) -> None:
    queue = RedisArqQueue(redis_url, default_queue_name=names[0], serializer="json")
    try:
        jobs = [await queue.enqueue("task", 1), queue.enqueue_sync("task", 2)]
    finally:
        await queue.aclose()
    assert {j.queue_name for j in jobs} == {names[0]}
    for job in jobs:
        assert redis_client.zscore(names[0], job.id) is not None
        assert redis_client.get(f"arq:job:{job.id}").startswith(b"{")  # JSON, not pickle
    redis_client.delete(*(f"arq:job:{j.id}" for j in jobs))


async def test_the_name_check_refuses_jobs_before_anything_is_sent(
    queue: RedisArqQueue, redis_client: redis.Redis, names: tuple[str, str]
) -> None:
    seen: list[list[str]] = []

    def refuse(jobs: Any) -> None:
        seen.append([j.name for j in jobs])
        raise InvalidJob("not allowed")

    queue.name_check = refuse
    with pytest.raises(InvalidJob):
        await queue.enqueue_many([JobSpec("a")])
    with pytest.raises(InvalidJob):
        queue.enqueue_many_sync([JobSpec("b")])
    assert seen == [["a"], ["b"]] and not redis_client.exists(names[0])


@pytest.fixture
async def deferred(
    queue: RedisArqQueue, redis_client: redis.Redis, names: tuple[str, str]
) -> AsyncIterator[str]:
    """The id of a job deferred by an hour in the other queue (no worker serves it)."""
    job = await queue.enqueue("task", 1, _queue_name=names[1], _defer_by=3600)
    yield job.id
    redis_client.delete(f"arq:job:{job.id}", "arq:abort")


@pytest.mark.parametrize("call", ["get_job_metadata", "get_job"])
async def test_reads_look_in_the_queue_they_are_given(
    queue: RedisArqQueue, deferred: str, names: tuple[str, str], call: str
) -> None:
    for found in (
        await getattr(queue, call)(deferred, names[1]),
        getattr(queue, call + "_sync")(deferred, names[1]),
    ):
        assert (found.id, found.status, found.queue_name) == (deferred, JobStatus.deferred, names[1])
    with pytest.raises(JobNotFound):
        await getattr(queue, call)(deferred)
    with pytest.raises(JobNotFound):
        getattr(queue, call + "_sync")(deferred)


async def test_a_result_is_looked_for_in_the_queue_given(
    queue: RedisArqQueue, deferred: str, names: tuple[str, str]
) -> None:
    with pytest.raises(JobResultUnavailable):  # found, not finished
        await queue.get_job_result(deferred, names[1])
    with pytest.raises(JobResultUnavailable):
        queue.get_job_result_sync(deferred, names[1])
    with pytest.raises(JobNotFound):
        await queue.get_job_result(deferred)
    with pytest.raises(JobNotFound):
        queue.get_job_result_sync(deferred)


async def test_an_abort_waits_as_long_as_it_is_told_in_the_queue_it_is_given(
    queue: RedisArqQueue, deferred: str, names: tuple[str, str]
) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"within 0\.2s"):
        await queue.abort_job(deferred, names[1], timeout=0.2)
    with pytest.raises(TimeoutError, match=r"within 0\.2s"):
        queue.abort_job_sync(deferred, names[1], timeout=0.2)
    assert time.monotonic() - started < 10  # not the queue's abort_timeout of 30 s


async def test_counts_are_of_the_queues_given(
    queue: RedisArqQueue, deferred: str, names: tuple[str, str]
) -> None:
    for counts in (await queue.count_jobs(names[::-1]), queue.count_jobs_sync(names[::-1])):
        assert [(c.queue_name, c.queued, c.deferred) for c in counts] == [(names[1], 0, 1), (names[0], 0, 0)]


async def test_workers_are_listed_by_the_queue_and_limit_given(
    queue: RedisArqQueue, redis_client: redis.Redis, names: tuple[str, str]
) -> None:
    worker = f"{names[1]}-w"
    queue._run_sync(beat(names[1], worker, {"pid": 1}, ()))
    now_ms = int(redis_client.hget(PREFIX + worker, "last_beat"))
    redis_client.hset(PREFIX + worker, "last_beat", now_ms - 10_000)  # ten seconds ago
    for entries in (await queue.list_workers(names[1], 5.0), queue.list_workers_sync(names[1], 5.0)):
        assert [(e.id, e.state) for e in entries] == [(worker, "lost")]
    for entries in (await queue.list_workers(names[1], 60.0), queue.list_workers_sync(names[1], 60.0)):
        assert [(e.id, e.state) for e in entries] == [(worker, "live")]
    assert queue.list_workers_sync(names[0], 60.0) == []


def test_one_blocking_client_for_every_thread_until_closed(redis_url: str) -> None:
    queue = RedisArqQueue(redis_url)
    seen: list[redis.Redis] = []
    threads = [threading.Thread(target=lambda: seen.append(queue.sync_client())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first = queue.sync_client()
    assert all(client is first for client in seen)
    first.ping()
    assert any(c._sock is not None for c in first.connection_pool._available_connections)
    queue.close()
    assert queue.sync_client() is not first
    assert all(c._sock is None for c in first.connection_pool._available_connections)  # disconnected
    queue.close()


def test_one_async_client_per_event_loop_and_none_kept_for_a_closed_loop(redis_url: str) -> None:
    queue = RedisArqQueue(redis_url)

    async def clients() -> tuple[Any, Any]:
        return queue.async_client(), queue.async_client()

    loops = [asyncio.new_event_loop() for _ in range(2)]
    try:
        first, again = loops[0].run_until_complete(clients())
        assert first is again
        loops[0].close()  # still referenced: only the explicit clean-up drops its client
        second, _ = loops[1].run_until_complete(clients())
        assert second is not first
        assert list(queue._async_clients) == [loops[1]]
    finally:
        for loop in loops:
            loop.close()
        queue.close()


async def test_aclose_closes_this_loop_s_client_and_the_blocking_one(queue: RedisArqQueue) -> None:
    client = queue.async_client()
    await client.ping()
    assert any(c.is_connected for c in client.connection_pool._available_connections)
    blocking = queue.sync_client()
    await queue.aclose()
    assert not any(c.is_connected for c in client.connection_pool._available_connections)
    assert asyncio.get_running_loop() not in queue._async_clients
    assert queue.async_client() is not client
    assert queue.sync_client() is not blocking


async def test_aclose_of_a_queue_never_used_in_this_loop(redis_url: str) -> None:
    queue = RedisArqQueue(redis_url)
    await queue.aclose()
    assert not queue._async_clients
