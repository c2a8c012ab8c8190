"""The recorder's times are aware: under a ``TIME_ZONE`` other than UTC (the process's local time
follows it), a naive time would be stored hours off the instant it stands for. With ``USE_TZ =
False`` too, where Django stores naive local times (and SQLite refuses aware ones)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator

import pytest

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from django_arq.queues.heartbeats import LostJob
from tests.audit.recorders import T0, start_echo
from tests.conftest import time_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=[True, False], ids=["USE_TZ", "USE_TZ=False"])
def tokyo(request: pytest.FixtureRequest) -> Iterator[None]:
    """Django's and the process's time zone UTC+9 (no daylight saving time), with and without USE_TZ."""
    with time_settings(TIME_ZONE="Asia/Tokyo", USE_TZ=request.param):
        assert time.localtime().tm_gmtoff == 9 * 3600
        yield


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def known(job_id: str, **fields: object) -> None:
    """A record the enqueue side wrote."""
    values = {"name": "tests.jobs.echo", "args": ["x"], "enqueue_time": T0, "queue_name": "q", **fields}
    await JobRecord.objects.acreate(job_id=job_id, alias="default", **values)


async def test_a_start_is_recorded_at_its_instant(tokyo: None, recorder: JobRecorder) -> None:
    existing, created = uuid.uuid4().hex, uuid.uuid4().hex  # a record updated, one created
    await known(existing)
    before = utc_now()
    start_echo(recorder, existing, 1)
    start_echo(recorder, created, 1)
    assert await recorder.flush() is True
    after = utc_now()
    for job in (existing, created):
        record = await JobRecord.objects.aget(job_id=job)
        assert record.start_time is not None and before <= record.start_time <= after
        assert before <= record.updated_at <= after


async def test_an_end_before_the_start_is_recorded_at_its_instant(tokyo: None, recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    await known(job)
    before = utc_now()
    recorder.job_failed_early(job, None)  # no result stored by arq: the time is the recorder's
    after = utc_now()
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert record.finish_time is not None and before <= record.finish_time <= after


async def test_a_lost_try_is_recorded_at_its_instant(tokyo: None, recorder: JobRecorder) -> None:
    job = uuid.uuid4().hex
    await known(job, status="in_progress", worker_id="w-lost", job_try=1)
    before = utc_now()
    await recorder.jobs_lost([LostJob(job, "w-lost", 1)])
    after = utc_now()
    [entry] = (await JobRecord.objects.aget(job_id=job)).try_errors
    assert before <= dt.datetime.fromisoformat(entry["time"]) <= after
