"""``ScheduleFirer``: the task an ``arq_worker`` runs beside its jobs, calling ``fire_due`` each poll.

It looks every ``POLL_INTERVAL`` while a schedule is due soon or while it cannot hear edits of the
schedules; hearing them (``changes``, on the worker's wake-up subscription), it sleeps until the
earliest next run, at most ``RECHECK_INTERVAL``, and looks at once when an edit is announced.

The database and the enqueue calls are blocking, so each poll runs in a thread of the firer's
own (one database connection, kept between polls and checked as Django checks it between
requests, but only every ``CONNECTION_CHECK_INTERVAL`` and after a failed poll: with
``CONN_MAX_AGE`` 0 that check closes it, and a new connection at every poll was most of an idle
worker's CPU). A failed poll (database or Redis unreachable) is logged once and retried: the
slots stay due, and fire when the poll succeeds (within ``GRACE``, else by the catch-up policy).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from django.db import close_old_connections, connections

from ..conf import DEFAULT_ALIAS
from .changes import RECHECK_INTERVAL
from .firing import POLL_INTERVAL, fire_due, until_next_run

__all__ = ["ScheduleFirer"]

#: Seconds between two checks of the firer's database connection.
CONNECTION_CHECK_INTERVAL = 60.0

logger = logging.getLogger("django_arq.schedules")


class ScheduleFirer:
    """Fires the due schedules of ``alias`` until stopped; ``start()`` on a running event loop."""

    def __init__(
        self,
        alias: str = DEFAULT_ALIAS,
        *,
        poll: float = POLL_INTERVAL.total_seconds(),
        edits: asyncio.Event | None = None,
        hearing: asyncio.Event | None = None,
    ) -> None:
        self.alias = alias
        self.poll = poll
        # Set when an edit of the schedules is announced (changes.announce), while ``hearing`` is:
        # then the firer may sleep until the earliest next run instead of looking every ``poll``.
        self.edits = edits
        self.hearing = hearing
        self.polls = 0
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="django-arq-schedules")
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._tidied: float | None = None  # monotonic time of the last check of its connection

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="django-arq-schedules")

    async def stop(self) -> None:
        """Stop polling; wait for a poll in progress; close the thread's database connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, connections.close_all)
        await loop.run_in_executor(None, self._executor.shutdown)

    def _poll_once(self, heard: bool) -> float:
        now = time.monotonic()
        if self._failing or self._tidied is None or now - self._tidied >= CONNECTION_CHECK_INTERVAL:
            close_old_connections()
            self._tidied = now
        firing = fire_due(self.alias)
        self.polls += 1
        longest = timedelta(seconds=self.poll)
        if heard and firing.next_due is None:  # nothing due soon, and edits are announced: sleep long
            longest = max(longest, until_next_run(self.alias, datetime.now(UTC), RECHECK_INTERVAL))
        return firing.wait(datetime.now(UTC), longest)

    def _heard(self) -> bool:
        """Whether edits are announced to this firer now (its subscription is up)."""
        if self.edits is None or self.hearing is None or not self.hearing.is_set():
            return False
        self.edits.clear()  # before the look: an edit announced from now on wakes the next sleep
        return True

    async def _sleep(self, wait: float) -> None:
        if self.edits is None:
            await asyncio.sleep(wait)
            return
        with contextlib.suppress(TimeoutError):  # asyncio.wait_for may lose a stop on Python 3.11
            async with asyncio.timeout(wait):
                await self.edits.wait()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                wait = await loop.run_in_executor(self._executor, self._poll_once, self._heard())
            except Exception as exc:
                if not self._failing:
                    logger.warning("schedules of alias %r not fired: %s; retrying", self.alias, exc)
                self._failing = True
                wait = self.poll
            else:
                if self._failing:
                    logger.warning("schedules of alias %r fired again", self.alias)
                self._failing = False
            await self._sleep(wait)
