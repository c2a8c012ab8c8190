"""Two Redis operations that only the dashboard, the metrics and DjangoWorker call: counting a
queue's jobs, and claiming due jobs for a worker. Pinned here, in process, on real Redis."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from django_arq import JobSpec, RedisArqQueue
from django_arq.queues import protocol
from django_arq.queues.drivers import run_sync
from django_arq.queues.protocol import claim_jobs
from tests.helpers import redis_server

HOUR = 3600


@pytest.fixture
def queue(redis_url: str, redis_client: redis.Redis) -> Iterator[RedisArqQueue]:
    """A queue of its own, without a worker, and everything it wrote removed afterwards."""
    q = RedisArqQueue(redis_url, default_queue_name=f"{settings.TEST_QUEUE}:counts-{uuid.uuid4().hex}")
    yield q
    q.close()
    name = q.default_queue_name
    ids = [i.decode() for i in redis_client.zrange(name, 0, -1)]
    keys = [f"arq:{kind}:{i}" for i in ids for kind in ("job", "in-progress")]
    redis_client.delete(name, name + ":health-check", *keys)


def enqueue(queue: RedisArqQueue, count: int, **options: object) -> list[str]:
    specs = [JobSpec("tests.jobs.add", (i, i), **options) for i in range(count)]  # type: ignore[arg-type]
    return [m.id for m in queue.enqueue_many_sync(specs)]


def running(client: redis.Redis, job_id: str) -> None:
    client.psetex(f"arq:in-progress:{job_id}", 60_000, b"1")


def test_counts_of_queued_deferred_and_running_jobs(queue: RedisArqQueue, redis_client: redis.Redis) -> None:
    due = enqueue(queue, 4)
    enqueue(queue, 3, defer_by=HOUR)
    running(redis_client, due[0])
    (counts,) = queue.count_jobs_sync([queue.default_queue_name])
    assert counts.queue_name == queue.default_queue_name
    assert (counts.queued, counts.deferred, counts.in_progress) == (3, 3, 1)
    assert (counts.in_progress_capped, counts.health, counts.health_ttl) == (False, None, None)


def test_counts_of_several_queues_in_one_call(
    queue: RedisArqQueue, redis_url: str, redis_client: redis.Redis
) -> None:
    other = RedisArqQueue(redis_url, default_queue_name=queue.default_queue_name + ":other")
    empty = queue.default_queue_name + ":empty"
    try:
        enqueue(queue, 2)
        busy = enqueue(other, 3)
        running(redis_client, busy[1])
        running(redis_client, busy[2])
        first, second, third = queue.count_jobs_sync(
            [queue.default_queue_name, other.default_queue_name, empty]
        )
        assert (first.queue_name, first.queued, first.deferred, first.in_progress) == (
            queue.default_queue_name,
            2,
            0,
            0,
        )
        assert (second.queue_name, second.queued, second.in_progress) == (other.default_queue_name, 1, 2)
        assert (third.queue_name, third.queued, third.deferred, third.in_progress) == (empty, 0, 0, 0)
        assert queue.count_jobs_sync([]) == []
    finally:
        redis_client.delete(
            other.default_queue_name, *[f"arq:{k}:{i}" for i in busy for k in ("job", "in-progress")]
        )
        other.close()


def test_an_empty_queue_counts_zero(queue: RedisArqQueue) -> None:
    (counts,) = queue.count_jobs_sync([queue.default_queue_name])
    assert (counts.queued, counts.deferred, counts.in_progress, counts.in_progress_capped) == (0, 0, 0, False)


@pytest.mark.parametrize(("due", "capped"), [(2, False), (3, True)])
def test_running_jobs_are_looked_for_among_the_first_due_ones_only(
    queue: RedisArqQueue, monkeypatch: pytest.MonkeyPatch, due: int, capped: bool
) -> None:
    monkeypatch.setattr(protocol, "IN_PROGRESS_SCAN", 2)
    enqueue(queue, due)
    (counts,) = queue.count_jobs_sync([queue.default_queue_name])
    assert (counts.queued, counts.in_progress, counts.in_progress_capped) == (due, 0, capped)


def test_health_check_text_and_seconds_left(queue: RedisArqQueue, redis_client: redis.Redis) -> None:
    key = queue.default_queue_name + ":health-check"
    redis_client.psetex(key, 1_000_000_000, b"j_complete=3 \xff")
    (counts,) = queue.count_jobs_sync([queue.default_queue_name])
    assert counts.health == "j_complete=3 \ufffd"
    assert counts.health_ttl is not None and 999_900 < counts.health_ttl <= 1_000_000
    redis_client.persist(key)  # a health key without expiry: no seconds left to tell
    (counts,) = queue.count_jobs_sync([queue.default_queue_name])
    assert (counts.health, counts.health_ttl) == ("j_complete=3 \ufffd", None)


def claim(
    client: redis.Redis, queue: RedisArqQueue, ids: list[str], **options: object
) -> list[tuple[str, int]]:
    op = claim_jobs(queue.default_queue_name, ids, 60_000, **options)  # type: ignore[arg-type]
    return run_sync(op, client, "redis://test")


def test_claims_only_due_jobs_not_yet_running(queue: RedisArqQueue, redis_client: redis.Redis) -> None:
    now = dt.datetime.now(dt.UTC)
    due = [
        enqueue(queue, 1, defer_until=now - dt.timedelta(seconds=s))[0] for s in (30, 20, 10)
    ]  # scores differ
    (deferred,) = enqueue(queue, 1, defer_by=HOUR)
    running(redis_client, due[2])
    running_set = f"{queue.default_queue_name}:running-{uuid.uuid4().hex}"
    try:
        claimed = claim(
            redis_client, queue, [*due, deferred, "unknown"], owner="worker-7", running_key=running_set
        )
        scores = {i: redis_client.zscore(queue.default_queue_name, i) for i in due}
        assert claimed == [(due[0], int(scores[due[0]])), (due[1], int(scores[due[1]]))]
        assert all(isinstance(score, int) for _, score in claimed)
        for job_id in due[:2]:
            assert redis_client.get(f"arq:in-progress:{job_id}") == b"worker-7"
            assert 0 < redis_client.pttl(f"arq:in-progress:{job_id}") <= 60_000
        assert redis_client.get(f"arq:in-progress:{due[2]}") == b"1"  # not taken over
        assert not redis_client.exists(f"arq:in-progress:{deferred}", "arq:in-progress:unknown")
        assert redis_client.smembers(running_set) == {due[0].encode(), due[1].encode()}
        assert claim(redis_client, queue, due) == []  # claimed once only
    finally:
        redis_client.delete(running_set, f"arq:in-progress:{deferred}", "arq:in-progress:unknown")


def test_a_claim_without_a_running_set_marks_the_job_as_arq_does() -> None:
    """On a Redis server of its own, so that the keys counted are this test's only."""
    with redis_server() as server:
        client = redis.Redis.from_url(server.url)
        queue = RedisArqQueue(server.url, default_queue_name="q")
        try:
            (job_id,) = enqueue(queue, 1)
            before = set(client.keys("*"))
            assert [i for i, _ in claim(client, queue, [job_id])] == [job_id]
            assert client.get(f"arq:in-progress:{job_id}") == b"1"
            assert set(client.keys("*")) - before == {f"arq:in-progress:{job_id}".encode()}  # no running set
            assert claim(client, queue, []) == []
        finally:
            client.close()
            queue.close()


def test_a_claim_appends_the_attempt_to_the_logs_of_the_jobs_it_claims(
    queue: RedisArqQueue, redis_client: redis.Redis
) -> None:
    logged = enqueue(queue, 3)
    (deferred,) = enqueue(queue, 1, defer_by=HOUR)
    running(redis_client, logged[2])
    ids = [*logged, deferred]
    logs = [f"{queue.default_queue_name}:log-{i}" for i in ids]
    logs[1] = ""  # a job without a log
    redis_client.rpush(logs[0], b"earlier")
    try:
        claimed = claim(redis_client, queue, ids, logs=logs, entry="now", log_ttl=HOUR)
        assert [i for i, _ in claimed] == logged[:2]
        assert redis_client.lrange(logs[0], 0, -1) == [b"earlier", b"now"]
        assert 0 < redis_client.ttl(logs[0]) <= HOUR
        assert not redis_client.exists(logs[2], logs[3])  # running, deferred: not claimed, not logged
        with pytest.raises(ValueError, match="2 attempt logs for 4 jobs"):
            claim(redis_client, queue, ids, logs=logs[:2], entry="now", log_ttl=HOUR)
    finally:
        redis_client.delete(*(k for k in logs if k))


def test_a_claim_s_log_defaults_an_empty_entry_kept_no_time_and_logs_naming_no_key_are_ignored(
    queue: RedisArqQueue, redis_client: redis.Redis
) -> None:
    first, second, third = enqueue(queue, 3)
    logs = [f"{queue.default_queue_name}:log-{i}" for i in (first, second)]
    try:
        assert [i for i, _ in claim(redis_client, queue, [first], logs=logs[:1], log_ttl=HOUR)] == [first]
        assert redis_client.lrange(logs[0], 0, -1) == [b""]
        assert [i for i, _ in claim(redis_client, queue, [second], logs=logs[1:], entry="now")] == [second]
        assert not redis_client.exists(logs[1])  # expired at once: a log ttl of 0 s
        assert [i for i, _ in claim(redis_client, queue, [third], logs=["", ""])] == [third]
    finally:
        redis_client.delete(*logs)
