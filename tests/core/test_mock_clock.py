"""MockArqQueue at the edges of its clock: a job due in the very millisecond it is looked at, and
a job whose payload expires in it (the mock's clock is pinned, so no timing is involved)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from django_arq import JobNotFound, JobNotQueued, JobStatus, MockArqQueue
from django_arq.queues import mock
from django_arq.queues.arq_internals import ms_to_datetime, timestamp_ms


class Clock:
    """The mock's ``timestamp_ms``, pinned to a millisecond the test moves by hand."""

    def __init__(self) -> None:
        self.now = timestamp_ms()

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    pinned = Clock()
    monkeypatch.setattr(mock, "timestamp_ms", pinned)
    return pinned


async def test_a_job_due_this_very_millisecond_is_run(clock: Clock) -> None:
    queue = MockArqQueue()

    async def done(ctx: dict[str, Any]) -> str:
        return "done"

    # deferred until a millisecond ago, its score is now: a clock rounded to now may be that early
    meta = await queue.enqueue("done", _defer_until=ms_to_datetime(clock.now - 1))
    assert (await queue.get_job_metadata(meta.id)).status is JobStatus.queued
    clock.now -= 1
    assert (await queue.get_job_metadata(meta.id)).status is JobStatus.deferred
    clock.now += 1
    assert (meta.status, meta.enqueue_time) == (JobStatus.queued, ms_to_datetime(clock.now))
    (result,) = await queue.run_queued({"done": done})
    assert (result.id, result.result) == (meta.id, "done")


async def test_a_job_is_gone_in_the_millisecond_its_payload_expires(clock: Clock) -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.add", 1, 2, _defer_by=60, _expires=timedelta(seconds=1))
    assert (meta.status, meta.enqueue_time) == (JobStatus.deferred, ms_to_datetime(clock.now))
    clock.now += 999
    assert (await queue.get_job_metadata(meta.id)).status is JobStatus.deferred
    clock.now += 1
    with pytest.raises(JobNotFound):
        await queue.get_job_metadata(meta.id)


async def test_a_finished_job_outlives_its_payload_s_expiry_a_running_one_keeps_its_id(clock: Clock) -> None:
    """As on Redis: a result is kept whatever the payload's expiry; a running job whose payload
    expired is not found by reads, but its id stays taken and an abort or a finish still reach it."""
    queue = MockArqQueue()
    running = await queue.enqueue("tests.jobs.add", 1, 2, _expires=timedelta(seconds=1))
    finished = await queue.enqueue("tests.jobs.add", 3, 4, _expires=timedelta(seconds=1))
    await queue.set_in_progress(running.id)
    await queue.set_complete(finished.id, result=7)
    clock.now += 999
    assert (await queue.get_job_metadata(running.id)).status is JobStatus.in_progress
    clock.now += 1
    with pytest.raises(JobNotFound):
        await queue.get_job_metadata(running.id)
    assert queue.jobs() == [(await queue.get_job_result(finished.id)).metadata()]
    with pytest.raises(JobNotQueued):
        await queue.enqueue("tests.jobs.add", 1, 2, _job_id=running.id)
    assert (await queue.set_complete(running.id, result=3)).result == 3
    clock.now += 60_000
    assert (await queue.get_job_result(finished.id)).result == 7
    assert (await queue.get_job_result(running.id)).result == 3
