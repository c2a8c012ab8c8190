"""How a job's end is recorded: its traceback, an abort, a timeout (with the job's own TIMEOUT),
a shutdown that puts it back in the queue, and a record deleted while the job ran."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq import Retry

from django_arq.audit.recorder import JobRecorder
from django_arq.models import ABORTED, JobRecord

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CANCELLED = {"exception": "asyncio.exceptions.CancelledError", "message": ""}


@pytest.fixture
async def recorder() -> AsyncIterator[JobRecorder]:
    rec = JobRecorder("default", "q", timeouts={"tests.jobs.slow": 7})
    yield rec
    await rec.close()


def started(recorder: JobRecorder, name: str = "tests.jobs.add") -> str:
    job = uuid.uuid4().hex
    recorder.job_started({"job_id": job, "enqueue_time": T0, "job_try": 1}, name, (1,), {})
    return job


async def ended(
    recorder: JobRecorder, job: str, exc: BaseException, *, aborted: bool = False, **kw: Any
) -> JobRecord:
    recorder.job_raised(job, exc, aborted=aborted)
    recorder.job_ended(job, **{"finished": True, "deferred": False, **kw})
    assert await recorder.flush() is True
    return await JobRecord.objects.aget(job_id=job)


def boom() -> None:
    raise ValueError("boom")


async def test_an_error_is_recorded_with_its_traceback(recorder: JobRecorder) -> None:
    try:
        boom()
    except ValueError as exc:
        record = await ended(recorder, started(recorder), exc)
    assert record.error.startswith("Traceback (most recent call last):\n  File ")
    # Python 3.13 marks the failing call with a line of ~ and ^ where 3.11 has none
    frame = r", in test_an_error_is_recorded_with_its_traceback\n    boom\(\)\n(    [~^]+\n)?  File "
    assert re.search(frame, record.error), record.error
    assert record.error.endswith(', in boom\n    raise ValueError("boom")\nValueError: boom')
    assert (record.success, record.result) == (False, {"exception": "builtins.ValueError", "message": "boom"})


async def test_an_aborted_job(recorder: JobRecorder) -> None:
    record = await ended(recorder, started(recorder), asyncio.CancelledError(), aborted=True)
    assert (record.status, record.success, record.error, record.result) == (
        "complete",
        False,
        ABORTED,
        CANCELLED,
    )


@pytest.mark.parametrize(
    ("name", "timeout_s", "error"),
    [
        ("tests.jobs.add", 2.5, "TimeoutError('job timed out after 2.5s')"),
        ("tests.jobs.slow", 2.5, "TimeoutError('job timed out after 7s')"),  # its own TIMEOUT
        ("tests.jobs.add", None, "TimeoutError('job timed out')"),
    ],
)
async def test_a_job_that_timed_out(
    recorder: JobRecorder, name: str, timeout_s: float | None, error: str
) -> None:
    record = await ended(recorder, started(recorder, name), asyncio.CancelledError(), timeout_s=timeout_s)
    assert (record.status, record.success, record.error) == ("complete", False, error)
    assert record.result == {
        "exception": "builtins.TimeoutError",
        "message": error[len("TimeoutError('") : -2],
    }


@pytest.mark.parametrize(("deferred", "status"), [(False, "queued"), (True, "deferred")])
async def test_a_job_cancelled_by_a_shutdown_goes_back_to_the_queue(
    recorder: JobRecorder, deferred: bool, status: str
) -> None:
    record = await ended(
        recorder, started(recorder), asyncio.CancelledError(), finished=False, deferred=deferred
    )
    assert (record.status, record.success, record.error) == (status, None, "CancelledError()")
    assert [e["try"] for e in record.try_errors] == [1]


async def test_a_retried_try_keeps_its_error_and_when_it_runs_again(recorder: JobRecorder) -> None:
    before = dt.datetime.now(dt.UTC)
    record = await ended(recorder, started(recorder), Retry(defer=60), finished=False, deferred=True)
    assert record.status == "deferred"
    assert record.next_try_at is not None and record.next_try_at >= before + dt.timedelta(seconds=60)
    assert [(e["try"], e["error"]) for e in record.try_errors] == [
        (1, "arq.worker.Retry: <Retry defer 60.00s>")
    ]


async def test_the_end_recreates_a_record_deleted_while_the_job_ran(recorder: JobRecorder) -> None:
    job = started(recorder, "tests.jobs.echo")
    assert await recorder.flush() is True
    await JobRecord.objects.filter(job_id=job).adelete()
    recorder.job_returned(job, [1])
    recorder.job_ended(job, finished=True, deferred=False)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert (record.name, record.args, record.status, record.success, record.result) == (
        "tests.jobs.echo", [1], "complete", True, [1],
    )  # fmt: skip


async def test_an_end_no_record_can_describe_is_noted_as_such(
    recorder: JobRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker hands ``job_ended``'s error to ``end_not_described`` and runs on."""
    from django_arq.audit import recorder as module

    def refuse(value: Any) -> Any:
        raise RuntimeError("no text")

    job = started(recorder)
    recorder.job_returned(job, 3)
    monkeypatch.setattr(module, "json_text", refuse)
    with pytest.raises(RuntimeError) as raised:
        recorder.job_ended(job, finished=True, deferred=False)
    monkeypatch.undo()
    recorder.end_not_described(job, True, raised.value)
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert (record.status, record.error) == (
        "complete",
        "django-arq could not record how this try ended (RuntimeError)",
    )
    assert record.finish_time is not None and record.success is None
