"""A retried try's error joins those its record already has: the record of the recorder's alias,
not that of a job of the same id under another alias; reading them locks only the batch's records."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import uuid

import pytest
from arq import Retry
from django.db import connection, connections, transaction

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import T0, start_echo

pytestmark = pytest.mark.django_db(transaction=True)


def earlier(error: str) -> dict[str, object]:
    return {"try": 1, "error": error, "time": T0.isoformat()}


async def test_a_retry_keeps_the_earlier_tries_of_its_own_alias(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    values = {"name": "tests.jobs.echo", "args": ["x"], "queue_name": "q", "status": "in_progress"}
    # The other alias's record first and enqueued earlier: last in the records' default order
    # (-enqueue_time, -id), so that a read of both would take its try errors.
    for alias, enqueued in (("zz-other", T0 - dt.timedelta(hours=1)), ("default", T0)):
        await JobRecord.objects.acreate(
            job_id=job, alias=alias, enqueue_time=enqueued, job_try=2, try_errors=[earlier(alias)], **values
        )
    start_echo(recorder, job, 2)
    recorder.job_raised(job, Retry(defer=60), aborted=False)
    recorder.job_ended(job, finished=False, deferred=True)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(alias="default", job_id=job)
    assert record.status == "deferred"
    assert record.try_errors[0] == earlier("default")
    assert [e["try"] for e in record.try_errors] == [1, 2]
    other = await JobRecord.objects.aget(alias="zz-other", job_id=job)
    assert (other.status, other.try_errors) == ("in_progress", [earlier("zz-other")])


async def test_reading_the_stored_tries_locks_no_other_record(recorder: JobRecorder) -> None:
    """Another transaction holds the lock of another record of the alias: the write goes on."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database for a write, not rows")
    job, other = uuid.uuid4().hex, uuid.uuid4().hex
    values = {"name": "tests.jobs.echo", "args": ["x"], "enqueue_time": T0, "queue_name": "q"}
    for job_id in (job, other):
        await JobRecord.objects.acreate(job_id=job_id, alias="default", status="in_progress", **values)
    locked, release = threading.Event(), threading.Event()

    def hold_the_other() -> None:
        try:
            with transaction.atomic():
                list(JobRecord.objects.select_for_update().filter(job_id=other))
                locked.set()
                release.wait(60)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_other)
    holder.start()
    try:
        assert await asyncio.to_thread(locked.wait, 60), "the other record was never locked"
        start_echo(recorder, job, 1)
        recorder.job_raised(job, Retry(defer=60), aborted=False)
        recorder.job_ended(job, finished=False, deferred=True)
        assert await asyncio.wait_for(recorder.flush(), 30) is True  # not waiting for that lock
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 60)
    assert (await JobRecord.objects.aget(job_id=job)).status == "deferred"
