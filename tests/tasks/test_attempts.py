"""The attempt log: tasks that start together append their attempts in one script call."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from django_arq.tasks.attempts import ATTEMPTS_TTL, attempts_key, record_attempt, worker_id


@pytest.fixture
def ids(redis_client: redis.Redis) -> Iterator[list[str]]:
    """Four job ids of this test's own; their attempt logs are deleted afterwards."""
    made = [f"attempts-{uuid.uuid4().hex}" for _ in range(4)]
    yield made
    redis_client.delete(*(attempts_key(i) for i in made))


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """An asyncio client, as a worker's."""
    made = redis.asyncio.Redis.from_url(redis_url)
    yield made
    await made.aclose()


async def test_attempts_of_one_turn_share_one_call_and_each_gets_its_own_log(
    client: redis.asyncio.Redis, redis_client: redis.Redis, ids: list[str]
) -> None:
    first = await record_attempt(client, ids[0])  # alone: a first try, then a retry below
    sent: list[tuple[Any, ...]] = []  # this client's commands (the server's counts include others')
    execute = client.execute_command

    async def counted(*args: Any, **options: Any) -> Any:
        sent.append(args)
        return await execute(*args, **options)

    client.execute_command = counted  # type: ignore[method-assign]
    logs = await asyncio.gather(*(record_attempt(client, i) for i in ids))
    assert [args[0] for args in sent] == ["EVALSHA"]  # the four appended with one script call
    assert [len(log) for log in logs] == [2, 1, 1, 1]
    assert logs[0][0] == first[0] and logs[0][1]["at"] >= first[0]["at"]
    assert all(entry["worker_id"] == worker_id() for log in logs for entry in log)
    for job_id, log in zip(ids, logs, strict=True):
        assert redis_client.llen(attempts_key(job_id)) == len(log)
        assert 0 < redis_client.ttl(attempts_key(job_id)) <= ATTEMPTS_TTL


async def test_a_redis_failure_reaches_every_task_of_the_turn() -> None:
    client = redis.asyncio.Redis(port=1)  # nothing listens there
    try:
        results = await asyncio.gather(
            *(record_attempt(client, f"attempts-down-{i}") for i in range(3)), return_exceptions=True
        )
    finally:
        await client.aclose()
    assert [type(r).__name__ for r in results] == ["RedisUnavailable"] * 3
    assert "unavailable" in str(results[0])


async def test_a_cancelled_task_leaves_the_others_call_alone(
    client: redis.asyncio.Redis, redis_client: redis.Redis, ids: list[str]
) -> None:
    cancelled = asyncio.ensure_future(record_attempt(client, ids[0]))
    kept = asyncio.ensure_future(record_attempt(client, ids[1]))
    await asyncio.sleep(0)
    cancelled.cancel()
    log = await kept
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert len(log) == 1
    assert redis_client.llen(attempts_key(ids[0])) == 1  # written all the same: the call was shared
