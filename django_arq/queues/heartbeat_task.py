"""A worker's heartbeat task: beats every third of ``lost_after``, recovering lost workers' jobs in
the same call.

The worker gives it a function describing itself, and a coroutine to call with the jobs it
re-queued (to update their records). A live worker recovers others only while its own beats
succeed: one that just got Redis back after an outage does not take the jobs of workers that were
cut off as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from .drivers import run_async
from .exceptions import ArqJobError
from .heartbeats import LostJob, beat, beat_interval, leave

__all__ = ["WORKERS_REDIS", "Heartbeat"]

#: How Redis errors name a worker's Redis when it was given no location (its URL).
WORKERS_REDIS = "the worker's Redis"

logger = logging.getLogger("django_arq.worker")

#: Seconds after which a beat writes the worker's whole entry (and the keys' lifetimes) even if
#: nothing in it changed; in between, an idle worker's beat only moves its last beat.
REWRITE_AFTER = 600.0


class Heartbeat:
    """One worker's beats in Redis, and its share of recovering lost workers' jobs."""

    def __init__(
        self,
        redis: Any,
        queue_name: str,
        worker_id: str,
        lost_after: float,
        describe: Callable[[], dict[str, Any]],
        on_lost: Callable[[list[LostJob]], Awaitable[None]],
        location: str = WORKERS_REDIS,
    ) -> None:
        self.redis, self.queue_name, self.worker_id = redis, queue_name, worker_id
        self.location = location  # the Redis errors name
        self.lost_after = lost_after
        self.interval = beat_interval(lost_after)
        self.describe, self.on_lost = describe, on_lost
        self._done: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_ok: float | None = None  # monotonic time of the last beat that succeeded
        self._written: tuple[dict[str, Any], float] | None = None  # the entry last written whole, when
        self.recovered = 0

    def job_done(self, job_id: str) -> None:
        """A job of this worker ended: the next beat drops it from the running list."""
        self._done.add(job_id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="django-arq-heartbeat")

    async def _run(self) -> None:
        while True:
            try:
                await self.beat_once()
            except Exception:  # the next beat must come, or the worker is taken for lost
                logger.exception("worker %s: heartbeat failed", self.worker_id)
            await asyncio.sleep(self.interval)

    async def beat_once(self) -> list[LostJob]:
        """One beat, and, if the beats before it were on time, a recovery; the jobs re-queued."""
        done, self._done = self._done, set()
        previous, now = self._last_ok, time.monotonic()
        # just started or back from an outage (others may be back too): no recovery
        recover = previous is not None and now - previous <= self.lost_after
        try:
            info = self.describe()
            written = self._written
            write = written is None or written[0] != info or now - written[1] > REWRITE_AFTER
            op = beat(
                self.queue_name, self.worker_id, info, done,
                write=write, recover_after=self.lost_after if recover else None,
            )  # fmt: skip
            _, lost = await run_async(op, self.redis, self.location)
        except (ArqJobError, RedisError, OSError) as exc:
            self._done |= done
            logger.warning("worker %s: heartbeat failed (%s)", self.worker_id, exc)
            return []
        except BaseException:  # the jobs done go with the next beat
            self._done |= done
            raise
        self._last_ok = time.monotonic()
        if write:
            self._written = info, now
        if lost:
            self.recovered += len(lost)
            for job in lost:
                logger.warning(
                    "job %s: worker %s lost, re-queued as try %d", job.job_id, job.worker_id, job.tries + 1
                )
            try:
                await self.on_lost(lost)
            except Exception:  # the jobs are back in the queue; only their records lag
                logger.exception("worker %s: could not record the lost jobs", self.worker_id)
        return lost

    async def stop(self) -> None:
        """Stop beating and leave the live set (the worker stops cleanly)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await run_async(leave(self.queue_name, self.worker_id), self.redis, self.location)
        except (ArqJobError, RedisError, OSError) as exc:
            logger.warning("worker %s: could not remove its heartbeat (%s)", self.worker_id, exc)
