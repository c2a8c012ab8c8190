"""A running job's progress report rides along with the recorder's next batch: stored on its
record, which is created from the running job's values if the enqueue side wrote none."""

from __future__ import annotations

import uuid

import pytest

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from django_arq.queues.jobs import JobProgress
from tests.audit.recorders import T0, ctx, made_from_echo, start_echo

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_progress_report_is_stored_on_a_record_made_from_the_running_job(
    recorder: JobRecorder,
) -> None:
    running, unknown = uuid.uuid4().hex, uuid.uuid4().hex
    recorder.job_started(ctx(running, 1), "tests.jobs.add", (1, 2), {})
    assert await recorder.flush() is True
    report = JobProgress(done=40, total=100, fraction=0.4, message="rows", time=T0)
    recorder.job_progressed(running, report)
    recorder.job_progressed(unknown, report)  # neither running here nor recorded: nothing to make it of
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=running)
    assert record.progress == {
        "done": 40,
        "total": 100,
        "fraction": 0.4,
        "message": "rows",
        "time": T0.isoformat(),
    }
    assert (record.status, record.name, record.args, record.queue_name) == (
        "in_progress",
        "tests.jobs.add",
        [1, 2],
        "q",
    )
    assert not await JobRecord.objects.filter(job_id=unknown).aexists()


async def test_a_report_recreates_the_record_of_a_running_job_deleted_meanwhile(
    recorder: JobRecorder,
) -> None:
    """Records can be deleted while their job runs (a purge, the admin): the next report restores it."""
    job = uuid.uuid4().hex
    start_echo(recorder, job, 2)
    assert await recorder.flush() is True
    await JobRecord.objects.filter(job_id=job).adelete()
    recorder.job_progressed(job, JobProgress(done=3, total=None, fraction=None, message=None, time=T0))
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert made_from_echo(record)
    assert (record.progress["done"], record.progress["total"]) == (3, None)
