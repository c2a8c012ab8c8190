"""A worker's wake-up listener in this process: each channel's event, a lost subscription taken
again, errors while closing it, ``wait``'s timeout rules and ``close``."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio
from redis.exceptions import RedisError

from django_arq.queues import wakeup as wakeup_module
from django_arq.queues.wakeup import WakeUp, wake_channel

TASK_NAME = "django-arq-wakeup"


@pytest.fixture
def queue() -> str:
    return f"django-arq-tests:wakeup:{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    # a name of its own, so that the test can end its connections and no one else's
    named = redis.asyncio.Redis.from_url(redis_url, client_name=f"django-arq-tests-{uuid.uuid4().hex}")
    yield named
    await named.aclose()


@pytest.fixture
async def wakeup(client: redis.asyncio.Redis, queue: str) -> AsyncIterator[WakeUp]:
    """A started listener of ``queue``, subscribed."""
    listening = await started(WakeUp(client, queue))
    yield listening
    await listening.close()


async def started(wakeup: WakeUp) -> WakeUp:
    wakeup.start()
    await asyncio.wait_for(wakeup.subscribed.wait(), 10)
    return wakeup


async def heard(event: asyncio.Event) -> bool:
    try:
        await asyncio.wait_for(event.wait(), 5)
    except TimeoutError:
        return False
    return True


@pytest.mark.parametrize("decoded", [False, True], ids=["bytes", "str"])
async def test_each_channel_sets_its_own_event(redis_url: str, queue: str, decoded: bool) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=decoded)
    edits = asyncio.Event()
    wakeup = await started(WakeUp(client, queue, also={f"{queue}:edits": edits}))
    try:
        assert edits.is_set()  # set at the subscription: an edit may have come before it
        edits.clear()
        wakeup.clear()
        await client.publish(f"{queue}:edits", "")
        assert await heard(edits)
        assert not await wakeup.wait(0.1)  # an edit is not an enqueue
        edits.clear()
        await client.publish(wake_channel(queue), queue)
        assert await wakeup.wait(5)
        await asyncio.sleep(0.1)
        assert not edits.is_set()
    finally:
        await wakeup.close()
        await client.aclose()


async def test_a_subscription_kept_wakes_no_one_by_itself(
    wakeup: WakeUp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wakeup_module, "RESUBSCRIBE_DELAY", 0.01)  # a subscription taken again would show
    wakeup.clear()
    assert not await wakeup.wait(0.3)
    assert wakeup.subscribed.is_set()


async def test_a_lost_subscription_is_logged_and_taken_again(
    wakeup: WakeUp,
    client: redis.asyncio.Redis,
    queue: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wakeup_module, "RESUBSCRIBE_DELAY", 0.05)
    name = client.connection_pool.connection_kwargs["client_name"]
    wakeup.clear()
    with caplog.at_level(logging.WARNING, logger="django_arq.worker"):
        for entry in await client.client_list(_type="pubsub"):
            if entry["name"] == name:
                await client.client_kill_filter(_id=entry["id"])
        for _ in range(100):
            if not wakeup.subscribed.is_set():
                break
            await asyncio.sleep(0.02)
        await asyncio.wait_for(wakeup.subscribed.wait(), 10)
    assert [r.getMessage() for r in caplog.records if r.name == "django_arq.worker"] == [
        "wake-up subscription lost (Connection closed by server.); polling until it is back"
    ]
    assert await wakeup.wait(0)  # subscribed again: a job may have come while it was not
    wakeup.clear()
    await client.publish(wake_channel(queue), queue)
    assert await wakeup.wait(5)


class BrokenPubSub:
    """A subscription that cannot be made, and whose closing fails too."""

    def __init__(self, closing_error: BaseException) -> None:
        self.closing_error = closing_error
        self.closed = 0

    async def subscribe(self, *channels: Any) -> None:
        raise OSError("unreachable")

    async def aclose(self) -> None:
        self.closed += 1
        raise self.closing_error


class BrokenRedis:
    def __init__(self, closing_error: BaseException) -> None:
        self.pubsubs: list[BrokenPubSub] = []
        self.closing_error = closing_error

    def pubsub(self, **kwargs: Any) -> BrokenPubSub:
        self.pubsubs.append(BrokenPubSub(self.closing_error))
        return self.pubsubs[-1]


@pytest.mark.parametrize("error", [RedisError("gone"), OSError("reset")], ids=["redis", "os"])
async def test_errors_closing_a_failed_subscription_are_ignored(
    error: BaseException, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wakeup_module, "RESUBSCRIBE_DELAY", 0.01)
    broken = BrokenRedis(error)
    wakeup = WakeUp(broken, "q")
    wakeup.start()
    try:
        for _ in range(200):
            if len(broken.pubsubs) >= 3:
                break
            await asyncio.sleep(0.01)
        assert len(broken.pubsubs) >= 3 and broken.pubsubs[0].closed == 1  # tried again and again
        assert not wakeup.subscribed.is_set()
    finally:
        await wakeup.close()


async def test_wait_without_time_left_reports_a_wake_up_already_heard(
    wakeup: WakeUp, client: redis.asyncio.Redis, queue: str
) -> None:
    wakeup.clear()
    assert not await wakeup.wait(0)
    await client.publish(wake_channel(queue), queue)
    await asyncio.sleep(0.2)
    assert await wakeup.wait(0) and await wakeup.wait(-1)


async def test_wait_returns_when_a_job_comes_before_its_timeout(
    wakeup: WakeUp, client: redis.asyncio.Redis, queue: str
) -> None:
    wakeup.clear()
    waiting = asyncio.create_task(wakeup.wait(0.9))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    await client.publish(wake_channel(queue), queue)
    assert await waiting


async def test_close_ends_the_named_listener_and_may_be_repeated(
    client: redis.asyncio.Redis, queue: str
) -> None:
    await WakeUp(client, queue).close()  # never started: nothing to end
    wakeup = await started(WakeUp(client, queue))
    (listener,) = [t for t in asyncio.all_tasks() if t.get_name() == TASK_NAME]
    await wakeup.close()
    assert listener.cancelled()
    await wakeup.close()


@pytest.mark.parametrize("steps", range(4))
async def test_a_stop_that_comes_as_the_wake_up_does_is_not_lost(steps: int) -> None:
    """The worker's poll loop waits here, and a SIGTERM cancels it. A cancel that comes once an
    enqueue set the event, at any step of the loop's way back, ends the wait unless it had already
    returned: asyncio.wait_for on Python 3.11 returned True instead, and the worker ran on with its
    stop lost (a CI run hung on it)."""
    wake = WakeUp(None, "q")
    waiting = asyncio.ensure_future(wake.wait(30))
    await asyncio.sleep(0)  # the poll loop waits
    wake._event.set()  # an enqueue is announced
    for _ in range(steps):
        await asyncio.sleep(0)
    returned = waiting.done()
    waiting.cancel()  # the stop
    if returned:
        assert waiting.result() is True
    else:
        with pytest.raises(asyncio.CancelledError):
            await waiting
