"""Several events of one job written in one batch merge: each try's error is kept, and a record
missing from the database is created from whichever event knew the job's values."""

from __future__ import annotations

import uuid

import pytest
from arq import Retry

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import ctx, made_from_echo, start_echo

pytestmark = pytest.mark.django_db(transaction=True)


async def test_every_try_of_a_batch_keeps_its_error(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    for job_try in (1, 2):  # two tries retried at once, both before the batch is written
        recorder.job_started(ctx(job, job_try), "tests.jobs.add", (1,), {})
        recorder.job_raised(job, Retry(defer=0), aborted=False)
        recorder.job_ended(job, finished=False, deferred=True)
    recorder.job_started(ctx(job, 3), "tests.jobs.add", (1,), {})
    recorder.job_raised(job, ValueError("third"), aborted=False)
    recorder.job_ended(job, finished=True, deferred=False)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert (record.status, record.success, record.job_try) == ("complete", False, 3)
    assert [e["try"] for e in record.try_errors] == [1, 2, 3]
    assert "third" in record.try_errors[2]["error"]


async def test_a_record_is_created_from_a_later_event_when_the_first_knew_nothing(
    recorder: JobRecorder,
) -> None:
    """A job cancelled before its function began and put back (no start seen, nothing to create
    its record from), then run again at once: the start's values create the record."""
    job = uuid.uuid4().hex
    recorder.job_ended(job, finished=False, deferred=False)
    start_echo(recorder, job, 2)
    recorder.job_returned(job, "done")
    recorder.job_ended(job, finished=True, deferred=False)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert made_from_echo(record)
    assert (record.status, record.success, record.result, record.job_try) == ("complete", True, "done", 2)
    assert [e["try"] for e in record.try_errors] == [0]  # the first end's try is unknown
