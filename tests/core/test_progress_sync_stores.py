"""queues/reporting.py: how a sync job's report is stored (from its thread, or from the event
loop), its lifetime in Redis, and the wait for a store that hangs."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
import redis
import redis.asyncio

from django_arq import report_progress_sync
from django_arq.queues import reporting
from django_arq.queues.jobs import JobProgress
from django_arq.queues.progress import progress_key
from django_arq.queues.reporting import RedisProgress
from tests.core.test_progress_reports import Recorded, job_ctx
from tests.helpers import async_wait_for


class Gated(Recorded):
    """Stores wait for ``gate``."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def store(self, job_id: str, progress: JobProgress, keep_ms: int | None) -> None:
        await self.gate.wait()
        await super().store(job_id, progress, keep_ms)


async def test_a_sync_report_from_a_thread_lives_as_long_as_a_running_jobs(
    redis_url: str, redis_client: redis.Redis
) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    job_id = f"sync-ttl-{uuid.uuid4().hex}"
    try:
        reports = RedisProgress(client, running_ttl_ms=60_000)
        await asyncio.to_thread(report_progress_sync, job_ctx(reports, job_id), 1, 2)
        assert 0 < redis_client.pttl(progress_key(job_id)) <= 60_000  # not kept forever
    finally:
        redis_client.delete(progress_key(job_id))
        await client.aclose()


async def test_a_sync_report_gives_up_on_a_store_that_hangs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(reporting, "SYNC_STORE_TIMEOUT", 0.3)
    reports = Gated()
    try:
        with caplog.at_level(logging.WARNING, "django_arq.progress"):
            # The job's thread waits 0.3 s for the store, then goes on: well within 10 s.
            await asyncio.wait_for(asyncio.to_thread(report_progress_sync, job_ctx(reports, "hung"), 1), 10)
    finally:
        reports.gate.set()
    assert "job hung: its progress report was not stored in 0.3s" in caplog.messages


async def test_a_sync_report_made_on_the_event_loop_holds_its_store_until_it_is_done() -> None:
    reports = Gated()
    report_progress_sync(job_ctx(reports), 1)  # a sync helper called by an async job
    assert len(reports._detached) == 1  # the loop itself keeps only a weak reference to the task
    reports.gate.set()
    await async_wait_for(lambda: reports.done() == [1], timeout=5)
    await async_wait_for(lambda: not reports._detached, timeout=5)  # and it is let go once done


async def test_a_sync_report_from_a_thread_schedules_its_store_on_the_event_loop() -> None:
    asyncio.get_running_loop().set_debug(True)  # a timer set from another thread raises
    reports = Recorded(interval=60)

    def job() -> None:
        for done in (1, 2, 3):  # 1 stored at once, 2 and 3 wait on a timer
            report_progress_sync(job_ctx(reports), done)

    await asyncio.to_thread(job)
    await reports.job_ended("j", 1000)
    assert reports.stored == [("j", 1, reporting.WHILE_RUNNING), ("j", 3, 1000)]
