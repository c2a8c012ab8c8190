"""A job id enqueued again once arq forgot its first job: its record becomes the new job's, through
real Redis and a real worker, whichever side writes it first."""

from __future__ import annotations

import uuid

import pytest
from arq.connections import ArqRedis
from arq.constants import result_key_prefix

from django_arq import get_queue
from django_arq.audit.on_commit import aflush_records
from django_arq.models import JobRecord
from tests.audit.burst import run_burst

pytestmark = pytest.mark.django_db(transaction=True)


async def first_job(queue_name: str, plain_arq: ArqRedis) -> JobRecord:
    """A job that failed, recorded, then forgotten by arq (its result gone): its id is free again."""
    job_id = f"again-{uuid.uuid4().hex}"
    await get_queue().enqueue("tests.audit.jobs.fail", "first", _job_id=job_id, _queue_name=queue_name)
    await run_burst(queue_name)
    old = await JobRecord.objects.aget(job_id=job_id)
    assert (old.name, old.status, old.success, old.job_try) == ("tests.audit.jobs.fail", "complete", False, 1)
    assert await plain_arq.delete(result_key_prefix + job_id) == 1
    return old


async def test_the_enqueue_replaces_the_record_of_the_earlier_job(
    plain_arq: ArqRedis, queue_name: str
) -> None:
    old = await first_job(queue_name, plain_arq)
    meta = await get_queue().enqueue(
        "tests.audit.jobs.give", "second", _job_id=old.job_id, _queue_name=queue_name
    )
    assert meta is not None and meta.enqueue_time > old.enqueue_time
    await aflush_records()
    record = await JobRecord.objects.aget(job_id=old.job_id)
    assert (record.pk, record.name, record.args, record.enqueue_time) == (
        old.pk, "tests.audit.jobs.give", ["second"], meta.enqueue_time,
    )  # fmt: skip
    assert (record.status, record.success, record.error, record.result) == ("queued", None, "", None)
    assert (record.job_try, record.start_time, record.finish_time, record.worker_id) == (0, None, None, "")
    await run_burst(queue_name)
    record = await JobRecord.objects.aget(job_id=old.job_id)
    assert (record.status, record.success, record.result, record.job_try) == ("complete", True, "second", 1)
    assert (record.enqueue_time, record.error) == (meta.enqueue_time, "")


async def test_the_worker_replaces_the_record_of_the_earlier_job(
    plain_arq: ArqRedis, queue_name: str
) -> None:
    """Enqueued again by a plain arq client, which writes no record: the worker's record of the
    new job replaces the old one, try errors included."""
    old = await first_job(queue_name, plain_arq)
    await JobRecord.objects.filter(pk=old.pk).aupdate(
        try_errors=[{"try": 1, "error": "old", "time": "", "lost": False}]
    )
    job = await plain_arq.enqueue_job(
        "tests.audit.jobs.retry_once", 0, _job_id=old.job_id, _queue_name=queue_name
    )
    assert job is not None
    await run_burst(queue_name)
    info = await job.result_info()
    assert info is not None and info.job_try == 2
    record = await JobRecord.objects.aget(job_id=old.job_id)
    assert (record.pk, record.name, record.args, record.enqueue_time) == (
        old.pk, "tests.audit.jobs.retry_once", [0], info.enqueue_time,
    )  # fmt: skip
    assert (record.status, record.success, record.result, record.job_try) == ("complete", True, "again", 2)
    assert [(e["try"], e["error"] == "old") for e in record.try_errors] == [(1, False)]
