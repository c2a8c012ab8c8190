"""The worker-side recorder: events that arrive while a write fails, and jobs that end before starting.

A write is made to fail by the recorder's own write hook (run in its thread), which the test holds
until the events it wants in flight have arrived: no sleeps, every wait has a generous deadline.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from django.db import OperationalError

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import T0, ctx

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_START = "ended by the worker before it started"


class HeldFailure:
    """Replaces the recorder's write: the first call waits to be released, then fails as a lost
    database would; later calls write for real."""

    def __init__(self, recorder: JobRecorder) -> None:
        self.write = recorder._write
        self.entered, self.released = threading.Event(), threading.Event()
        self.calls = 0
        recorder._write = self  # type: ignore[method-assign]

    def __call__(self, batch: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            assert self.released.wait(60), "the test never released the write"
            raise OperationalError("server closed the connection unexpectedly")
        self.write(batch)


async def test_events_during_a_failed_write_are_merged_onto_the_batch_retried(
    recorder: JobRecorder,
) -> None:
    ran, joined = uuid.uuid4().hex, uuid.uuid4().hex
    recorder.job_started(ctx(ran, 3), "tests.jobs.add", (1, 2), {"k": "v"})
    held = HeldFailure(recorder)
    flushing = asyncio.create_task(recorder.flush())
    assert await asyncio.to_thread(held.entered.wait, 60), "the write never started"
    # While the batch holding the start is being written, the job ends and another one starts.
    recorder.job_returned(ran, 3)
    recorder.job_ended(ran, finished=True, deferred=False)
    recorder.job_started(ctx(joined, 1), "tests.jobs.echo", ("x",), {})
    held.released.set()
    assert await flushing is False
    assert await recorder.flush() is True
    assert held.calls == 2

    record = await JobRecord.objects.aget(job_id=ran)
    assert (record.status, record.success, record.result, record.error) == ("complete", True, 3, "")
    assert record.job_try == 3  # from the start, which only the failed batch had
    assert record.start_time is not None and record.finish_time is not None
    assert record.start_time <= record.finish_time
    assert (record.name, record.args, record.kwargs, record.queue_name) == (
        "tests.jobs.add",
        [1, 2],
        {"k": "v"},
        "q",
    )
    other = await JobRecord.objects.aget(job_id=joined)
    assert (other.status, other.job_try, other.name) == ("in_progress", 1, "tests.jobs.echo")


async def test_a_later_event_replaces_only_the_fields_it_sets(recorder: JobRecorder) -> None:
    """Merged the other way round (the failed batch on top of newer events), the record would go
    back to in progress."""
    job = uuid.uuid4().hex
    recorder.job_started(ctx(job, 2), "tests.jobs.add", (1,), {})
    held = HeldFailure(recorder)
    flushing = asyncio.create_task(recorder.flush())
    assert await asyncio.to_thread(held.entered.wait, 60)
    recorder.job_raised(job, ValueError("boom"), aborted=False)
    recorder.job_ended(job, finished=True, deferred=False)
    held.released.set()
    assert await flushing is False
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert (record.status, record.success, record.job_try) == ("complete", False, 2)
    assert record.error == "ValueError('boom')"  # raised nowhere: no traceback, its repr


@pytest.mark.parametrize("result_data", [None, b"\x00 not a pickle"], ids=["no result", "unreadable"])
async def test_a_job_ended_early_without_a_readable_result_says_so(
    recorder: JobRecorder, result_data: bytes | None
) -> None:
    job = uuid.uuid4().hex
    await JobRecord.objects.acreate(
        job_id=job,
        alias="default",
        name="tests.jobs.add",
        args=[1],
        kwargs={},
        enqueue_time=T0,
        queue_name="q",
    )
    recorder.job_failed_early(job, result_data)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert (record.status, record.success, record.error) == ("complete", False, BEFORE_START)
    assert record.finish_time is not None and record.finish_time > T0
