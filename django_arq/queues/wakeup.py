"""Waking idle workers as soon as a job is enqueued, beside arq's polling.

django-arq's enqueue publishes the queue's name on ``wake_channel(queue)`` (in the same script that
adds the job); a django-arq worker subscribed to that channel polls at once instead of at its next
poll. Nothing else changes: a plain arq client publishes nothing and a plain arq worker subscribes
to nothing, so both keep working at their own poll interval, and a worker whose subscription is
lost goes on polling until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from redis.exceptions import RedisError

__all__ = ["WAKE_PREFIX", "WakeUp", "wake_channel"]

WAKE_PREFIX = "django-arq:wake:"
#: Seconds before a lost subscription is tried again.
RESUBSCRIBE_DELAY = 1.0

logger = logging.getLogger("django_arq.worker")


def wake_channel(queue_name: str) -> str:
    """The pub/sub channel on which enqueues to ``queue_name`` are announced."""
    return WAKE_PREFIX + queue_name


class WakeUp:
    """One worker's subscription to its queue's wake channel (and to the channels of ``also``, each
    setting its event when a message comes on it, and at every subscription).

    ``clear()`` before reading the queue, then ``wait(timeout)``: it returns at once if a job was
    enqueued since, else when one is, else after ``timeout`` seconds. Messages that arrive while
    the worker is busy are folded into one wake-up.
    """

    def __init__(self, redis: Any, queue_name: str, also: Mapping[str, asyncio.Event] | None = None) -> None:
        self._redis = redis
        self.channel = wake_channel(queue_name)
        self._event = asyncio.Event()
        # other channels heard on the same connection, each setting its own event
        heard = {self.channel: self._event, **(also or {})}
        self._events = {channel.encode(): event for channel, event in heard.items()}
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="django-arq-wakeup")

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._events)
                self.subscribed.set()
                for event in self._events.values():  # jobs or edits may have come while unsubscribed
                    event.set()
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        self._heard(message.get("channel"))
            except (RedisError, OSError) as exc:
                if self.subscribed.is_set():
                    logger.warning("wake-up subscription lost (%s); polling until it is back", exc)
                self.subscribed.clear()
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_DELAY)

    def _heard(self, channel: Any) -> None:
        channel = channel.encode() if isinstance(channel, str) else channel
        self._events.get(channel, self._event).set()

    def clear(self) -> None:
        """Forget earlier wake-ups: call before reading the queue."""
        self._event.clear()

    async def wait(self, timeout: float) -> bool:
        """Wait for an enqueue at most ``timeout`` seconds; True if one came."""
        if timeout <= 0:
            return self._event.is_set()
        try:  # not asyncio.wait_for: on Python 3.11 it loses a stop that comes as the event is set
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
