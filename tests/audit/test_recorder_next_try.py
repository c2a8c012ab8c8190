"""A retried job's record: its next try's time is cleared when that try starts, and a batch of
retried and other jobs is written in one go (one transaction), not split."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from arq import Retry

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import start_echo

pytestmark = pytest.mark.django_db(transaction=True)


def retry(recorder: JobRecorder, job: str) -> None:
    recorder.job_raised(job, Retry(defer=60), aborted=False)
    recorder.job_ended(job, finished=False, deferred=True)


async def test_the_next_try_s_time_is_cleared_when_it_starts(recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    start_echo(recorder, job, 1)
    retry(recorder, job)
    assert await recorder.flush() is True
    assert (await JobRecord.objects.aget(job_id=job)).next_try_at is not None
    start_echo(recorder, job, 2)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert (record.status, record.job_try, record.next_try_at) == ("in_progress", 2, None)


async def test_a_batch_of_retried_and_other_jobs_is_written_at_once(recorder: JobRecorder) -> None:
    retried, started = uuid.uuid4().hex, uuid.uuid4().hex
    start_echo(recorder, retried, 1)
    start_echo(recorder, started, 1)
    assert await recorder.flush() is True
    writes: list[int] = []
    write_items = recorder._write_items

    def counted(items: Sequence[Any]) -> None:
        writes.append(len(items))
        write_items(items)

    recorder._write_items = counted  # type: ignore[method-assign]
    retry(recorder, retried)
    recorder.job_returned(started, 1)
    recorder.job_ended(started, finished=True, deferred=False)
    assert await recorder.flush() is True
    assert writes == [2]
    assert (await JobRecord.objects.aget(job_id=retried)).status == "deferred"
    assert (await JobRecord.objects.aget(job_id=started)).status == "complete"
