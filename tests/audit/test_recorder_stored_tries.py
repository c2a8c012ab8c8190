"""A retried try's error joins those its record already has: the record of the recorder's alias,
not that of a job of the same id under another alias."""

from __future__ import annotations

import uuid

import pytest
from arq import Retry

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import T0, start_echo

pytestmark = pytest.mark.django_db(transaction=True)


def earlier(error: str) -> dict[str, object]:
    return {"try": 1, "error": error, "time": T0.isoformat()}


async def test_a_retry_keeps_the_earlier_tries_of_its_own_alias(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    values = {"name": "tests.jobs.echo", "args": ["x"], "enqueue_time": T0, "queue_name": "q"}
    for alias in ("default", "zz-other"):  # the other alias's record read last, were it read
        await JobRecord.objects.acreate(
            job_id=job, alias=alias, status="in_progress", job_try=2, try_errors=[earlier(alias)], **values
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
