"""The two drivers of a protocol operation, against real Redis: each kind of step, a script loaded
on demand, a sleep, and Redis's errors turned into django-arq's and given back to the operation."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio

from django_arq.queues.drivers import run_async, run_sync
from django_arq.queues.exceptions import ArqJobError, RedisUnavailable
from django_arq.queues.protocol import Call, Op, Script, Sleep

URL = "redis://:***@h:1/0"  # what the messages name, given by the caller (the client's URL is another)


@pytest.fixture
def key(redis_client: redis.Redis) -> Iterator[str]:
    name = f"django-arq-tests:drivers:{uuid.uuid4().hex[:10]}"
    yield name
    redis_client.delete(name)


@pytest.fixture
async def async_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def down() -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    yield client
    client.close()


def steps(key: str) -> Op[list[Any]]:
    """Each kind of call, the replies collected: one command, a pipeline, a transaction, a script."""
    script = Script(f"-- {uuid.uuid4().hex}\nreturn {{KEYS[1], ARGV[1], redis.call('GET', KEYS[1])}}")
    replies = [(yield Call((("SET", key, "1"),)))]
    replies.append((yield Call((("INCR", key), ("INCRBY", key, 5)))))
    replies.append((yield Call((("INCR", key),), transaction=True)))
    replies.append((yield Call((((key,), ("arg",)),), script=script)))  # not loaded yet: loaded, run
    replies.append((yield Call((((key,), ("again",)),), script=script)))  # loaded: run by its SHA
    replies.append((yield Sleep(0.2)))
    return replies


def expected(key: str) -> list[Any]:
    return [True, [2, 7], [8], [key.encode(), b"arg", b"8"], [key.encode(), b"again", b"8"], None]


def failing(key: str) -> Op[list[Any]]:
    """A refused command, then another call: the error is given to the operation, which goes on."""
    caught = []
    try:
        yield Call((("SET", key, "text"), ("INCR", key)))
    except ArqJobError as exc:
        caught.append(exc)
    caught.append((yield Call((("GET", key),))))
    return caught


def aborted(key: str) -> Op[Any]:
    """A transaction with a malformed command: none of its commands runs."""
    try:
        yield Call((("SET", key, "1"), ("INCR",)), transaction=True)
    except ArqJobError as exc:
        return exc, (yield Call((("GET", key),)))
    raise AssertionError("no error")


def unreachable() -> Op[BaseException]:
    try:
        yield Call((("PING",),))
    except ArqJobError as exc:
        return exc
    raise AssertionError("no error")


def test_run_sync_performs_each_step(redis_client: redis.Redis, key: str) -> None:
    started = time.monotonic()
    assert run_sync(steps(key), redis_client, URL) == expected(key)
    assert time.monotonic() - started >= 0.2


async def test_run_async_performs_each_step(async_client: redis.asyncio.Redis, key: str) -> None:
    started = time.monotonic()
    assert await run_async(steps(key), async_client, URL) == expected(key)
    assert time.monotonic() - started >= 0.2


def check_refused(caught: list[Any]) -> None:
    error, after = caught
    assert type(error) is ArqJobError and str(error).startswith(f"Redis at {URL} refused the command: ")
    assert isinstance(error.__cause__, redis.ResponseError)
    assert after == b"text"  # the pipeline was sent: its first command ran


def test_run_sync_gives_a_refused_command_to_the_operation(redis_client: redis.Redis, key: str) -> None:
    check_refused(run_sync(failing(key), redis_client, URL))


async def test_run_async_gives_a_refused_command_to_the_operation(
    async_client: redis.asyncio.Redis, key: str
) -> None:
    check_refused(await run_async(failing(key), async_client, URL))


def test_run_sync_sends_a_transaction_whole_or_not_at_all(redis_client: redis.Redis, key: str) -> None:
    error, value = run_sync(aborted(key), redis_client, URL)
    assert isinstance(error.__cause__, redis.ResponseError) and value is None


async def test_run_async_sends_a_transaction_whole_or_not_at_all(
    async_client: redis.asyncio.Redis, key: str
) -> None:
    error, value = await run_async(aborted(key), async_client, URL)
    assert isinstance(error.__cause__, redis.ResponseError) and value is None


def check_unavailable(error: BaseException) -> None:
    assert isinstance(error, RedisUnavailable)
    assert str(error).startswith(f"Redis at {URL} is unavailable: ")
    assert isinstance(error.__cause__, redis.ConnectionError)


def test_run_sync_reports_an_unreachable_redis(down: redis.Redis) -> None:
    check_unavailable(run_sync(unreachable(), down, URL))


async def test_run_async_reports_an_unreachable_redis() -> None:
    client = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        check_unavailable(await run_async(unreachable(), client, URL))
    finally:
        await client.aclose()


def test_an_error_the_operation_does_not_catch_is_raised(down: redis.Redis) -> None:
    def ping() -> Op[None]:
        yield Call((("PING",),))

    with pytest.raises(RedisUnavailable):
        run_sync(ping(), down, URL)
