"""queues/reporting.py: two stores of one job under way at once (reports due at once, each store held
at its own gate): the job's end waits for both, not only for the first to finish, before it sets the
lifetime of the job's report."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from django_arq import report_progress
from django_arq.queues.jobs import JobProgress
from django_arq.queues.reporting import WHILE_RUNNING
from tests.core.test_progress_reports import Recorded, job_ctx
from tests.helpers import async_wait_for


class Gated(Recorded):
    """Every report is due at once; the store of each waits for the gate of its ``done``, and what is
    stored or given its lifetime is logged in the order it happens."""

    def __init__(self) -> None:
        super().__init__(interval=0)
        self.entered: defaultdict[float, asyncio.Event] = defaultdict(asyncio.Event)
        self.gates: defaultdict[float, asyncio.Event] = defaultdict(asyncio.Event)
        self.log: list[tuple[str, float | int | None]] = []

    async def store(self, job_id: str, progress: JobProgress, keep_ms: int | None) -> None:
        self.entered[progress.done].set()
        await self.gates[progress.done].wait()
        await super().store(job_id, progress, keep_ms)
        self.log.append(("stored", progress.done))

    async def expire(self, job_id: str, keep_ms: int | None) -> None:
        await super().expire(job_id, keep_ms)
        self.log.append(("expired", keep_ms))


async def test_the_end_waits_for_every_store_under_way_not_only_the_first_to_finish() -> None:
    reports = Gated()
    ctx = job_ctx(reports)
    job = reports._jobs["j"]
    first = asyncio.create_task(report_progress(ctx, 1))
    await asyncio.wait_for(reports.entered[1].wait(), 10)
    second = asyncio.create_task(report_progress(ctx, 2))
    await asyncio.wait_for(reports.entered[2].wait(), 10)  # both stores under way
    reports.gates[1].set()
    await asyncio.wait_for(first, 10)  # the first is done, the second still held
    ending = asyncio.create_task(reports.job_ended("j", 5000))
    # The end either returns at once (it would set the lifetime under the second store) or waits
    # for the stores under way (``stores_done``, which the last store to finish resolves).
    await async_wait_for(lambda: ending.done() or job.stores_done is not None, timeout=10)
    assert not ending.done() and reports.log == [("stored", 1)]
    reports.gates[2].set()
    await asyncio.wait_for(asyncio.gather(second, ending), 10)
    assert reports.log == [("stored", 1), ("stored", 2), ("expired", 5000)]
    assert reports.stored == [("j", 1, WHILE_RUNNING), ("j", 2, WHILE_RUNNING)]
    assert reports.expired == [("j", 5000)]
