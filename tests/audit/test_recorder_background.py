"""The recorder's background task: it writes on its own, every ``flush_interval`` seconds or as
soon as ``batch_size`` jobs wait, and sleeps while there is nothing to write."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.helpers import async_wait_for

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def start(recorder: JobRecorder, job_id: str) -> None:
    recorder.job_started({"job_id": job_id, "enqueue_time": T0, "job_try": 1}, "tests.jobs.add", (1,), {})


async def recorded(*ids: str) -> bool:
    return await JobRecord.objects.filter(job_id__in=ids).acount() == len(ids)


async def test_events_are_written_every_flush_interval_without_a_flush_call() -> None:
    recorder = JobRecorder("default", "q", flush_interval=0.05)
    recorder.start()
    try:
        first, second = uuid.uuid4().hex, uuid.uuid4().hex
        start(recorder, first)
        await async_wait_for(lambda: recorded(first), timeout=30)
        # idle in between, then woken by the next event
        start(recorder, second)
        await async_wait_for(lambda: recorded(second), timeout=30)
        # the row is visible as soon as its write commits, the count once the write returns
        await async_wait_for(lambda: recorder.written >= 2, timeout=30)
        assert recorder.written == 2
    finally:
        await recorder.close()


async def test_a_full_batch_is_written_without_waiting_for_the_interval() -> None:
    recorder = JobRecorder("default", "q", flush_interval=3600, batch_size=3)
    recorder.start()
    try:
        ids = [uuid.uuid4().hex for _ in range(3)]
        for job_id in ids[:2]:
            start(recorder, job_id)
        start(recorder, ids[2])  # the third fills the batch
        await async_wait_for(lambda: recorded(*ids), timeout=30)
    finally:
        await recorder.close()


async def test_close_writes_what_is_left() -> None:
    recorder = JobRecorder("default", "q", flush_interval=3600)
    recorder.start()
    job_id = uuid.uuid4().hex
    start(recorder, job_id)
    await recorder.close()
    assert await recorded(job_id)
    assert recorder._task is None
