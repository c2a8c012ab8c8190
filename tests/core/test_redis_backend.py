"""RedisArqQueue beyond the shared contract: arq interop, Redis down, connections, event loops."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import uuid
from pathlib import Path

import pytest
import redis
from arq import create_pool
from arq.connections import RedisSettings
from arq.constants import abort_jobs_ss
from arq.jobs import Job, serialize_result
from arq.utils import timestamp_ms
from django.conf import settings

from django_arq import JobSpec, JobStatus, RedisArqQueue, RedisUnavailable
from tests.api.conftest import lonely_queue
from tests.helpers import async_wait_for, free_port, redis_server, wait_for


def own_ports() -> set[int]:
    """Local TCP ports of this process's sockets (Linux: its fds' socket inodes in /proc/net/tcp*)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def own_clients(redis_client) -> int:
    """How many of the Redis server's clients are connections of this process (others share it)."""
    gc.collect()  # connections of queues other tests dropped are closed now, not mid-count
    redis_client.ping()  # its own connection exists before the ports are read
    ports = own_ports()
    return sum(1 for c in redis_client.client_list() if int(c["addr"].rsplit(":", 1)[1]) in ports)


def test_own_clients_counts_this_process_only(redis_url, redis_client) -> None:
    other = redis_client.client_list()  # other processes' clients stay out of the count
    before = own_clients(redis_client)
    assert before >= 1  # redis_client itself
    extra = [redis.Redis.from_url(redis_url) for _ in range(3)]
    for client in extra:
        client.ping()
    assert own_clients(redis_client) == before + 3
    for client in extra:
        client.close()
    assert own_clients(redis_client) == before
    assert len(other) >= before


__all__ = ["lonely_queue"]


@pytest.fixture
def queue(redis_url: str):
    q = RedisArqQueue(redis_url, default_queue_name=settings.TEST_QUEUE, abort_timeout=5)
    yield q
    q.close()


async def test_plain_arq_reads_and_runs_jobs_enqueued_by_django_arq(queue, redis_url, arq_workers) -> None:
    meta = await queue.enqueue("tests.jobs.add", 40, 2, _job_id=f"interop-{uuid.uuid4().hex}")
    arq_redis = await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=settings.TEST_QUEUE)
    try:
        job = Job(meta.id, arq_redis, _queue_name=settings.TEST_QUEUE)
        assert await job.result(timeout=15, poll_delay=0.02) == 42
        info = await job.info()
        assert info is not None and (info.function, info.args) == ("tests.jobs.add", (40, 2))
    finally:
        await arq_redis.aclose()


async def test_django_arq_reads_jobs_enqueued_by_plain_arq(queue, redis_url, arq_workers) -> None:
    arq_redis = await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=settings.TEST_QUEUE)
    try:
        job = await arq_redis.enqueue_job("tests.jobs.add", 1, 2, _defer_by=0.3)
        assert job is not None
        meta = await queue.get_job_metadata(job.job_id)
        assert (meta.name, meta.args, meta.status) == ("tests.jobs.add", (1, 2), JobStatus.deferred)

        async def done() -> bool:
            return (await queue.get_job_metadata(job.job_id)).status is JobStatus.complete

        await async_wait_for(done, timeout=15)
        result = await queue.get_job_result(job.job_id)
        assert (result.success, result.result) == (True, 3)
    finally:
        await arq_redis.aclose()


def test_redis_down_names_the_url_without_its_password() -> None:
    port = free_port()
    q = RedisArqQueue(f"redis://:hunter2@127.0.0.1:{port}/3")
    with pytest.raises(RedisUnavailable) as excinfo:
        q.enqueue_sync("tests.jobs.add", 1, 2)
    message = str(excinfo.value)
    assert f"redis://:***@127.0.0.1:{port}/3" in message and "hunter2" not in message
    with pytest.raises(RedisUnavailable, match=r"\*\*\*"):
        q.get_job_metadata_sync("x")

    async def async_calls() -> None:
        with pytest.raises(RedisUnavailable, match=r"\*\*\*"):
            await q.enqueue("tests.jobs.add", 1, 2)
        with pytest.raises(RedisUnavailable):
            await q.abort_job("x", timeout=1)

    asyncio.run(async_calls())


def test_recovers_when_redis_comes_back() -> None:
    with redis_server() as server:
        q = RedisArqQueue(server.url)
        assert q.enqueue_sync("tests.jobs.add", 1, 2, _defer_by=60).status is JobStatus.deferred
        server.stop()
        with pytest.raises(RedisUnavailable):
            q.enqueue_sync("tests.jobs.add", 1, 2)
        server.start()
        assert q.enqueue_sync("tests.jobs.add", 1, 2, _defer_by=60).status is JobStatus.deferred
        q.close()


def test_abort_of_unknown_id_leaves_nothing_in_the_abort_set(queue, redis_client) -> None:
    job_id = f"ghost-{uuid.uuid4().hex}"
    assert queue.abort_job_sync(job_id, timeout=None) is False
    assert redis_client.zscore(abort_jobs_ss, job_id) is None


def test_bulk_enqueue_clears_stale_abort_requests_past_the_first_chunk(queue, redis_client) -> None:
    ids = [f"stale-{uuid.uuid4().hex}" for _ in range(1100)]
    redis_client.zadd(abort_jobs_ss, {ids[0]: 1, ids[700]: 1, ids[-1]: 1})
    queue.enqueue_many_sync([JobSpec("tests.jobs.add", (1, 1), job_id=i, defer_by=600) for i in ids])
    assert [redis_client.zscore(abort_jobs_ss, i) for i in (ids[0], ids[700], ids[-1])] == [None] * 3
    assert redis_client.zscore(queue.default_queue_name, ids[-1]) is not None


async def test_enqueue_clears_a_stale_abort_request(queue, redis_client, arq_workers) -> None:
    """A stale entry left by arq's own Job.abort (arq issue #485) does not abort our new job."""
    job_id = f"stale-{uuid.uuid4().hex}"
    redis_client.zadd(abort_jobs_ss, {job_id: 1})
    await queue.enqueue("tests.jobs.add", 2, 2, _job_id=job_id)
    assert redis_client.zscore(abort_jobs_ss, job_id) is None

    async def done() -> bool:
        return (await queue.get_job_metadata(job_id)).status is JobStatus.complete

    await async_wait_for(done, timeout=15)
    assert (await queue.get_job_result(job_id)).result == 4


def test_no_worker_abort_times_out_and_keeps_the_request(queue, redis_client) -> None:
    lonely = f"django-arq-tests:nobody-{uuid.uuid4().hex[:6]}"
    meta = queue.enqueue_sync("tests.jobs.add", 1, 1, _queue_name=lonely)
    with pytest.raises(TimeoutError, match="no worker"):
        queue.abort_job_sync(meta.id, lonely, timeout=0.2)
    assert redis_client.zscore(abort_jobs_ss, meta.id) is not None
    redis_client.zrem(abort_jobs_ss, meta.id)


def test_thousands_of_sync_calls_keep_connections_bounded(redis_url, redis_client) -> None:
    q = RedisArqQueue(redis_url, default_queue_name=settings.TEST_QUEUE + ":bounded")
    before = own_clients(redis_client)

    def work(n: int) -> None:
        for i in range(n):
            meta = q.enqueue_sync("tests.jobs.add", i, i, _defer_by=600)
            q.get_job_metadata_sync(meta.id)

    threads = [threading.Thread(target=work, args=(500,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    during = own_clients(redis_client)
    assert 1 <= during - before <= 6  # at most one connection per concurrent thread
    for _ in range(1000):
        meta = q.enqueue_sync("tests.jobs.add", 1, 1, _defer_by=600)
        q.get_job_metadata_sync(meta.id)
    assert own_clients(redis_client) <= during
    q.close()
    assert own_clients(redis_client) <= before


def test_async_calls_from_many_event_loops_in_a_row(redis_url, redis_client) -> None:
    q = RedisArqQueue(redis_url, default_queue_name=settings.TEST_QUEUE + ":loops")

    async def one() -> str:
        meta = await q.enqueue("tests.jobs.add", 1, 2, _defer_by=600)
        return (await q.get_job_metadata(meta.id)).id

    before = own_clients(redis_client)
    ids = [asyncio.run(one()) for _ in range(50)]
    assert len(set(ids)) == 50
    gc.collect()
    assert own_clients(redis_client) - before <= 2  # clients of closed loops are dropped
    assert len(q._async_clients) <= 1


def test_async_calls_from_threads_each_with_its_own_loop(redis_url) -> None:
    q = RedisArqQueue(redis_url, default_queue_name=settings.TEST_QUEUE + ":threads")
    errors: list[BaseException] = []

    def run() -> None:
        async def go() -> None:
            for i in range(20):
                meta = await q.enqueue("tests.jobs.add", i, i, _defer_by=600)
                assert (await q.get_job_metadata(meta.id)).args == (i, i)

        try:
            asyncio.run(go())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_json_serializer_refuses_what_json_cannot_hold(redis_url) -> None:
    from django_arq import JobNotQueued

    q = RedisArqQueue(redis_url, default_queue_name=settings.TEST_QUEUE + ":json", serializer="json")
    meta = q.enqueue_sync("tests.jobs.add", 1, 2, _defer_by=60)
    assert q.get_job_metadata_sync(meta.id).args == (1, 2)
    with pytest.raises(JobNotQueued, match="json"):
        q.enqueue_sync("tests.jobs.echo", object())
    q.close()


def abort_in_thread(queue: RedisArqQueue, job_id: str, queue_name: str) -> tuple[threading.Thread, list]:
    """``abort_job_sync`` in another thread (generous timeout); its outcome lands in the list."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(queue.abort_job_sync(job_id, queue_name, timeout=60))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_abort_of_a_job_that_vanishes_without_a_result_leaves_no_abort_entry(
    queue, redis_client, lonely_queue
) -> None:
    """A worker with keep_result=0 (or an expiry) removes a job without a result: no entry stays
    in arq's abort set to abort a later job of that id."""
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=lonely_queue)
    thread, outcome = abort_in_thread(queue, meta.id, lonely_queue)
    wait_for(lambda: redis_client.zscore(abort_jobs_ss, meta.id) is not None)
    redis_client.zrem(lonely_queue, meta.id)  # as a worker does when it ends a job, keeping nothing
    redis_client.delete(f"arq:job:{meta.id}")
    thread.join(60)
    assert outcome == [False]
    assert redis_client.zscore(abort_jobs_ss, meta.id) is None


def test_a_job_that_succeeds_after_the_abort_request_is_not_reported_aborted(
    queue, redis_client, lonely_queue
) -> None:
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=lonely_queue)
    thread, outcome = abort_in_thread(queue, meta.id, lonely_queue)
    wait_for(lambda: redis_client.zscore(abort_jobs_ss, meta.id) is not None)
    now = timestamp_ms()
    result = serialize_result(
        "tests.jobs.add", (1, 2), {}, 1, now, True, 3, now, now, "ref", lonely_queue, meta.id
    )
    with redis_client.pipeline() as pipe:  # a worker finished the job before it saw the request
        pipe.set(f"arq:result:{meta.id}", result).zrem(lonely_queue, meta.id).execute()
    thread.join(60)
    assert outcome == [False]
    assert queue.get_job_result_sync(meta.id, lonely_queue).result == 3
