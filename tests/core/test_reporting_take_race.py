"""queues/reporting.py: the race in ``take`` between its unlocked look at a job and its lock, made to
happen at will: a lock whose first acquisition lets another report (another thread's, in a worker)
be taken first and schedule the job's store. The report that lost the race joins that store; it
schedules no second one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from django_arq import report_progress
from django_arq.queues.progress import new_report
from django_arq.queues.reporting import WHILE_RUNNING
from tests.core.test_progress_coalescing_clock import INTERVAL, clock
from tests.core.test_progress_reports import Recorded, job_ctx
from tests.helpers import async_wait_for

__all__ = ["clock"]  # the fixture


class RacingLock:
    """A lock that runs ``before`` (once) when it is next acquired, before acquiring it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.before: Callable[[], object] | None = None

    def __enter__(self) -> bool:
        before, self.before = self.before, None
        if before is not None:
            before()
        return self.lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.lock.__exit__(*exc)  # type: ignore[arg-type]


class CountingLoop:
    """The event loop, counting the timers set on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.timers: list[asyncio.TimerHandle] = []

    def call_later(self, delay: float, *args: Any) -> asyncio.TimerHandle:
        self.timers.append(self.loop.call_later(delay, *args))
        return self.timers[-1]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loop, name)


async def test_a_report_that_loses_the_race_to_a_scheduled_store_joins_it(clock: SimpleNamespace) -> None:
    reports = Recorded(interval=INTERVAL)
    reports._lock = lock = RacingLock()  # type: ignore[assignment]
    reports.loop = loop = CountingLoop(reports.loop)  # type: ignore[assignment]
    ctx = job_ctx(reports)
    await report_progress(ctx, 1)  # stored at once: the next one waits
    # Report 2's unlocked look finds nothing scheduled; before it takes the lock, report 3 is taken
    # and schedules the job's store.
    lock.before = lambda: reports.take("j", 1, new_report(3, None, None))
    await report_progress(ctx, 2)
    assert len(loop.timers) == 1 and reports.done() == [1]
    await async_wait_for(lambda: reports.done() == [1, 2] and reports._jobs["j"].flush is None, timeout=10)
    assert len(loop.timers) == 1  # report 2, taken last, stored by the one store
    await reports.job_ended("j", 5000)
    assert reports.stored == [("j", 1, WHILE_RUNNING), ("j", 2, WHILE_RUNNING)]
    assert reports.expired == [("j", 5000)]
