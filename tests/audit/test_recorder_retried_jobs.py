"""How the recorder writes a job's end: a retried try whose record was deleted, a try's error time,
a timeout whose start this worker never saw, and which failed last try joins the try errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from arq import Retry

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import T0, made_from_echo, start_echo

pytestmark = pytest.mark.django_db(transaction=True)


async def retried(recorder: JobRecorder, job: str) -> JobRecord:
    recorder.job_raised(job, Retry(defer=60), aborted=False)
    recorder.job_ended(job, finished=False, deferred=True)
    assert await recorder.flush() is True
    return await JobRecord.objects.aget(job_id=job)


async def test_a_retry_recreates_a_record_deleted_while_the_try_ran(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    start_echo(recorder, job, 1)
    assert await recorder.flush() is True
    await JobRecord.objects.filter(job_id=job).adelete()
    record = await retried(recorder, job)
    assert made_from_echo(record)
    assert (record.status, record.queue_name) == ("deferred", "q")


async def test_a_retried_try_is_kept_with_an_aware_time(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    start_echo(recorder, job, 2)
    before = dt.datetime.now(dt.UTC)
    record = await retried(recorder, job)
    [entry] = record.try_errors
    ended = dt.datetime.fromisoformat(entry["time"])
    assert ended.utcoffset() == dt.timedelta(0)
    assert before <= ended <= dt.datetime.now(dt.UTC)


async def test_a_timeout_of_a_job_whose_start_was_not_seen_says_how_long(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    await JobRecord.objects.acreate(
        job_id=job,
        alias="default",
        name="tests.jobs.add",
        args=[],
        kwargs={},
        enqueue_time=T0,
        queue_name="q",
    )
    recorder.job_raised(job, asyncio.CancelledError(), aborted=False)
    recorder.job_ended(job, finished=True, deferred=False, timeout_s=5)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert (record.status, record.success) == ("complete", False)
    assert record.error == "TimeoutError('job timed out after 5s')"


@pytest.mark.parametrize(("job_try", "kept"), [(1, []), (2, [2])])
async def test_a_failed_last_try_is_kept_among_the_try_errors_only_after_others(
    recorder: JobRecorder, job_try: int, kept: list[int]
) -> None:
    job = uuid.uuid4().hex
    start_echo(recorder, job, job_try)
    recorder.job_raised(job, ValueError("boom"), aborted=False)
    recorder.job_ended(job, finished=True, deferred=False)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert (record.status, record.success) == ("complete", False)
    assert [e["try"] for e in record.try_errors] == kept
