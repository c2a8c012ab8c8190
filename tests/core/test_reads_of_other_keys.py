"""Reads, aborts and counts given a queue name that is a Redis key of another type: one clear
``ArqJobError`` naming the key, not Redis's WRONGTYPE text (the mock holds no other keys)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
import redis

from django_arq import ArqJobError, RedisArqQueue
from django_arq.queues.arq_internals import job_key_prefix

pytestmark = pytest.mark.django_db


@pytest.fixture
def names(redis_client: redis.Redis) -> Iterator[dict[str, str]]:
    """A queue, a string key and a hash key of the test's own."""
    run = uuid.uuid4().hex[:10]
    keys = {kind: f"django-arq-tests:other-keys-{run}-{kind}" for kind in ("queue", "string", "hash")}
    redis_client.set(keys["string"], "x")
    redis_client.hset(keys["hash"], "a", "1")
    yield keys
    redis_client.delete(*keys.values())


def test_a_queue_name_of_another_type_is_named_by_reads_aborts_and_counts(
    redis_url: str, names: dict[str, str]
) -> None:
    queue = RedisArqQueue(redis_url, default_queue_name=names["queue"])
    try:
        meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _defer_by=3600)
        calls = {
            "string": [
                lambda q: queue.get_job_metadata_sync(meta.id, q),
                lambda q: asyncio.run(queue.get_job_result(meta.id, q)),
                lambda q: queue.abort_job_sync(meta.id, q),
            ],
            "hash": [
                lambda q: queue.get_job_result_sync(meta.id, q),
                lambda q: queue.count_jobs_sync([names["queue"], q]),
                lambda q: asyncio.run(queue.count_jobs([q])),
            ],
        }
        for kind, reads in calls.items():
            for read in reads:
                with pytest.raises(ArqJobError) as excinfo:
                    read(names[kind])
                assert str(excinfo.value) == (
                    f"Redis key {names[kind]!r} is not a queue (it holds a {kind}, not a sorted set)"
                )
        assert queue.get_job_metadata_sync(meta.id).args == (1, 2)
    finally:
        queue.close()


def test_another_key_of_the_wrong_type_is_reported_as_redis_refused_it(
    redis_url: str, redis_client: redis.Redis, names: dict[str, str]
) -> None:
    """Only a queue name is named: a job key of another type (not written by arq) is Redis's refusal."""
    job_id = f"other-keys-{uuid.uuid4().hex}"
    redis_client.hset(job_key_prefix + job_id, "a", "1")
    queue = RedisArqQueue(redis_url, default_queue_name=names["queue"])
    try:
        with pytest.raises(ArqJobError, match="refused the command: WRONGTYPE"):
            queue.get_job_metadata_sync(job_id)
    finally:
        queue.close()
        redis_client.delete(job_key_prefix + job_id)
