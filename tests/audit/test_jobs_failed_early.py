"""Jobs arq ends without running them (an unknown function, an abort before the start): the
worker's recorder creates or completes their records from the result arq stored."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import abort_jobs_ss
from arq.jobs import serialize_result
from arq.utils import timestamp_ms

from django_arq.audit.recorder import JobRecorder
from django_arq.models import ABORTED, JobRecord
from tests.audit.burst import run_burst
from tests.audit.recorders import T0

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_job_of_an_unknown_function_gets_its_record_from_arqs_result(
    plain_arq: ArqRedis, queue_name: str
) -> None:
    before = dt.datetime.now(dt.UTC)
    job = await plain_arq.enqueue_job("tests.audit.jobs.missing", 1, [2], k="v", _queue_name=queue_name)
    assert job is not None and not await JobRecord.objects.filter(job_id=job.job_id).aexists()
    await run_burst(queue_name)
    stored = await job.result_info()
    assert stored is not None
    record = await JobRecord.objects.aget(job_id=job.job_id)
    assert (record.name, record.args, record.kwargs, record.queue_name, record.alias) == (
        "tests.audit.jobs.missing", [1, [2]], {"k": "v"}, queue_name, "default",
    )  # fmt: skip
    assert (record.status, record.success, record.job_try) == ("complete", False, 1)
    assert record.error == "JobExecutionFailed(\"function 'tests.audit.jobs.missing' not found\")"
    assert record.result == {
        "exception": "arq.worker.JobExecutionFailed",
        "message": "function 'tests.audit.jobs.missing' not found",
    }
    assert (record.enqueue_time, record.finish_time) == (stored.enqueue_time, stored.finish_time)
    assert record.enqueue_time >= before - dt.timedelta(seconds=1)
    assert record.start_time is None


async def test_a_job_aborted_before_it_started_is_recorded_as_aborted(
    plain_arq: ArqRedis, queue_name: str
) -> None:
    job = await plain_arq.enqueue_job("tests.audit.jobs.give", 1, _queue_name=queue_name)
    assert job is not None
    await plain_arq.zadd(abort_jobs_ss, {job.job_id: timestamp_ms()})  # as arq's Job.abort asks
    await run_burst(queue_name)
    record = await JobRecord.objects.aget(job_id=job.job_id)
    assert (record.status, record.success, record.error) == ("complete", False, ABORTED)
    assert (record.name, record.args, record.job_try) == ("tests.audit.jobs.give", [1], 1)
    assert record.result == {"exception": "asyncio.exceptions.CancelledError", "message": ""}


def json_bytes(data: dict[str, object]) -> bytes:
    return json.dumps(data).encode()


def json_result(job_id: str, result: object, success: bool = False) -> bytes:
    """arq's stored result of a job (a failure by default), written with a JSON serializer."""
    data = serialize_result(
        "tests.jobs.add", (1,), {}, 2, 1_700_000_000_000, success, result, 1_700_000_000_500,
        1_700_000_001_000, f"{job_id}:tests.jobs.add", "q", job_id, serializer=json_bytes,
    )  # fmt: skip
    assert data is not None
    return data


async def test_a_result_is_read_with_the_workers_deserializer() -> None:
    recorder = JobRecorder("default", "q", deserializer=json.loads)
    try:
        recorder.job_failed_early("json-job", json_result("json-job", "refused"))
        assert await recorder.flush() is True
    finally:
        await recorder.close()
    record = await JobRecord.objects.aget(job_id="json-job")
    assert (record.name, record.args, record.job_try, record.error) == ("tests.jobs.add", [1], 2, "'refused'")
    assert record.finish_time == dt.datetime(2023, 11, 14, 22, 13, 21, tzinfo=dt.UTC)


async def test_an_unreadable_result_is_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    recorder = JobRecorder("default", "q")  # reads pickle: JSON is unreadable to it
    try:
        with caplog.at_level(logging.WARNING, logger="django_arq.recorder"):
            recorder.job_failed_early("early", json_result("early", "x"))
            recorder.job_returned("returned", "x")
            recorder.job_ended(
                "returned", finished=True, deferred=False, result_data=b"unable to serialize result"
            )
            recorder.job_ended("cancelled", finished=True, deferred=False, result_data=b"\x00 not a pickle")
    finally:
        await recorder.close()
    warnings = [(r.getMessage(), bool(r.exc_info)) for r in caplog.records]
    assert warnings == [
        ("cannot read the result of job early", True),
        ("cannot read the result of job returned", True),
        ("cannot read the result of job cancelled", True),
    ]


async def test_a_job_ended_early_without_a_result_nor_a_record_gets_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing to create its record from: the update is dropped quietly (``arq_reconcile`` sees it)."""
    recorder = JobRecorder("default", "q")
    try:
        with caplog.at_level(logging.WARNING):
            recorder.job_failed_early("no-record", None)
            assert await recorder.flush() is True
    finally:
        await recorder.close()
    assert not await JobRecord.objects.filter(job_id="no-record").aexists()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


@pytest.mark.parametrize(
    ("stored", "success", "result", "error"),
    [(None, False, None, ""), ((False, "gone"), False, "gone", "'gone'"), ((True, 5), True, 5, "")],
    ids=["nothing stored", "a failure", "a success"],
)
async def test_a_job_cancelled_before_its_function_began_is_recorded_from_arqs_result(
    stored: tuple[bool, Any] | None, success: bool, result: Any, error: str
) -> None:
    """No start nor outcome reported: how it ended is what arq stored, if anything."""
    await JobRecord.objects.acreate(
        job_id="cancelled", alias="default", name="tests.jobs.add", args=[1], enqueue_time=T0, queue_name="q"
    )
    data = None if stored is None else json_result("cancelled", stored[1], success=stored[0])
    recorder = JobRecorder("default", "q", deserializer=json.loads)
    try:
        recorder.job_ended("cancelled", finished=True, deferred=False, result_data=data)
        assert await recorder.flush() is True
    finally:
        await recorder.close()
    record = await JobRecord.objects.aget(job_id="cancelled")
    assert (record.status, record.success, record.result, record.error) == (
        "complete",
        success,
        result,
        error,
    )
