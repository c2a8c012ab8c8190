"""The lookup module against the mock alias: a record read as Redis would give the job, where a
job is found, and what waiting for it returns as Redis and the records change under it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction

from django_arq import JobNotFound, JobResult, JobSpec, MockArqQueue, get_queue
from django_arq.audit.lookup import (
    FoundJob,
    _release,
    find_job,
    read_tries,
    record_job,
    wait_for_job,
)
from django_arq.audit.rows import storable_id
from django_arq.models import JobRecord
from django_arq.queues.jobs import JobMetadata, JobStatus
from django_arq.queues.progress import JobProgress

pytestmark = pytest.mark.django_db(transaction=True)

ALIAS = "mock"
T0 = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
T1 = T0 + timedelta(seconds=5)
PROGRESS = {"done": 2, "total": 4, "message": "half", "time": T0.isoformat()}


def new_id() -> str:
    return f"lookup-{uuid.uuid4().hex}"


def fields(**values: Any) -> dict[str, Any]:
    return {
        "job_id": "r1",
        "name": "tests.jobs.add",
        "args": [1, 2],
        "kwargs": {"k": 3},
        "enqueue_time": T0,
        "status": "in_progress",
        "queue_name": "record-queue",
        "progress": None,
        "trace_id": "",
        "start_time": None,
        "finish_time": None,
        "success": None,
        "result": None,
        **values,
    }


def test_a_record_of_an_unfinished_job_reads_as_its_metadata() -> None:
    job = record_job(SimpleNamespace(**fields(progress=PROGRESS, trace_id="ab" * 16)))  # type: ignore[arg-type]
    assert type(job) is JobMetadata
    assert job == JobMetadata(
        "r1",
        "tests.jobs.add",
        (1, 2),
        {"k": 3},
        T0,
        JobStatus.in_progress,
        "record-queue",
        progress=JobProgress(2, 4, 0.5, "half", T0),
        trace_id="ab" * 16,
    )
    empty = record_job(SimpleNamespace(**fields(args=None, kwargs=None)))  # type: ignore[arg-type]
    assert (empty.args, empty.kwargs, empty.trace_id, empty.progress) == ((), {}, None, None)


def test_a_record_of_a_finished_job_reads_as_its_result() -> None:
    done = fields(status="complete", start_time=T0, finish_time=T1, success=False, result={"r": 1})
    job = record_job(SimpleNamespace(**done))  # type: ignore[arg-type]
    assert isinstance(job, JobResult)
    assert (job.start_time, job.finish_time, job.success, job.result) == (T0, T1, False, {"r": 1})
    assert (job.id, job.args, job.status) == ("r1", (1, 2), JobStatus.complete)
    never_started = record_job(SimpleNamespace(**{**done, "start_time": None}))  # type: ignore[arg-type]
    assert isinstance(never_started, JobResult) and never_started.start_time == T1
    no_outcome = record_job(SimpleNamespace(**{**done, "success": None}))  # type: ignore[arg-type]
    unfinished = record_job(SimpleNamespace(**{**done, "finish_time": None}))  # type: ignore[arg-type]
    assert type(no_outcome) is JobMetadata and type(unfinished) is JobMetadata


def test_release_closes_connections_outside_a_transaction_only() -> None:
    connection.ensure_connection()
    _release()
    assert connection.connection is None
    with transaction.atomic():
        connection.ensure_connection()
        _release()
        assert connection.connection is not None


def mock() -> MockArqQueue:
    backend = get_queue(ALIAS).backend  # type: ignore[attr-defined]
    assert isinstance(backend, MockArqQueue)
    return backend


async def enqueue(job_id: str, queue_name: str = "lookup-q") -> JobMetadata:
    """Enqueue a job on the mock; its metadata as a read from Redis gives it, without a trace id
    (which the enqueue has when another test installed an OpenTelemetry SDK in this process)."""
    (meta,) = await mock().enqueue_many(
        [JobSpec("tests.jobs.add", (1, 2), queue_name=queue_name, job_id=job_id)]
    )
    return dataclasses.replace(meta, trace_id=None)


async def record(job_id: str, alias: str = ALIAS, **values: Any) -> JobRecord:
    return await JobRecord.objects.acreate(**fields(job_id=job_id, alias=alias, **values))


async def test_a_job_is_found_in_redis_first() -> None:
    job_id = new_id()
    meta = await enqueue(job_id)
    await record(job_id, status="complete", finish_time=T1, success=True)
    found = await find_job(ALIAS, job_id, "lookup-q")
    assert found == FoundJob(meta, "redis") and not found.finished


async def test_a_job_redis_lacks_is_found_in_its_record() -> None:
    job_id = new_id()
    await enqueue(job_id, "another-queue")  # not under the queue asked for
    await record(job_id, status="complete", start_time=T0, finish_time=T1, success=True, result=3)
    found = await find_job(ALIAS, job_id, "lookup-q")
    assert found.source == "record" and found.finished
    assert isinstance(found.job, JobResult) and found.job.result == 3
    long_id = "l" * 300
    await record(storable_id(long_id))
    assert (await find_job(ALIAS, long_id)).job.id == storable_id(long_id)


async def test_a_job_neither_has_is_not_found() -> None:
    job_id = new_id()
    await record(job_id, alias="default")  # another alias's record
    await record(new_id())  # another job's record
    with pytest.raises(JobNotFound) as raised:
        await find_job(ALIAS, job_id)
    assert str(raised.value) == f"job {job_id!r} not found in Redis nor in the job records of 'mock'"
    assert raised.value.job_id == job_id


async def test_read_tries_of_a_record_and_of_none() -> None:
    job_id = new_id()
    await record(job_id, status="queued", job_try=1, try_errors=[{"try": 1, "error": "E"}])
    await record(job_id, alias="default", status="in_progress", job_try=3)
    assert await read_tries(ALIAS, job_id) == {
        "try_status": "re-queued, try 2 of 5",
        "next_try_at": None,
        "try_errors": [{"try": 1, "error": "E"}],
    }
    assert await read_tries(ALIAS, new_id()) == {"try_status": "", "next_try_at": None, "try_errors": []}


async def test_a_wait_without_time_reads_once() -> None:
    job_id = new_id()
    meta = await enqueue(job_id)
    seen: list[FoundJob] = []
    found = await wait_for_job(ALIAS, job_id, "lookup-q", timeout=0, on_poll=seen.append)
    assert found == FoundJob(meta, "redis") and seen == [found]


async def test_a_wait_starts_from_the_state_given() -> None:
    given = FoundJob(JobMetadata(new_id(), "n", (), {}, T0, JobStatus.queued, "q"), "redis")
    assert await wait_for_job(ALIAS, "not-anywhere", timeout=0, first=given) is given


async def later(action: Callable[[], Awaitable[Any]], delay: float = 0.05) -> None:
    await asyncio.sleep(delay)
    await action()


async def test_a_wait_ends_when_the_job_finishes() -> None:
    job_id = new_id()
    await enqueue(job_id)
    seen: list[FoundJob] = []
    finish = asyncio.create_task(later(lambda: mock().set_complete(job_id, result=7, queue_name="lookup-q")))
    found = await wait_for_job(ALIAS, job_id, "lookup-q", timeout=None, on_poll=seen.append)
    await finish
    assert found.finished and found.source == "redis" and found.job.result == 7  # type: ignore[union-attr]
    assert seen[-1] is found and not seen[0].finished


async def test_a_long_wait_ends_soon_after_the_job_finishes() -> None:
    """Polls stay frequent however far the deadline: the wait is not held until it."""
    job_id = new_id()
    await enqueue(job_id)
    finish = asyncio.create_task(later(lambda: mock().set_complete(job_id, result=1, queue_name="lookup-q")))
    started = time.monotonic()
    found = await wait_for_job(ALIAS, job_id, "lookup-q", timeout=120)
    await finish
    assert found.finished and time.monotonic() - started < 10


async def test_a_wait_ends_on_the_first_state_until_accepts() -> None:
    job_id = new_id()
    await enqueue(job_id)
    start = asyncio.create_task(later(lambda: mock().set_in_progress(job_id, "lookup-q")))
    found = await wait_for_job(
        ALIAS, job_id, "lookup-q", timeout=10, until=lambda f: f.job.status == JobStatus.in_progress
    )
    await start
    assert found.job.status == JobStatus.in_progress and not found.finished


async def test_a_job_only_recorded_is_looked_for_under_its_recorded_queue() -> None:
    job_id = new_id()
    await record(job_id, status="queued", queue_name="recorded-q")
    show = asyncio.create_task(later(lambda: enqueue(job_id, "recorded-q")))
    found = await wait_for_job(ALIAS, job_id, timeout=10, until=lambda f: f.source == "redis")
    await show
    assert (found.source, found.job.queue_name) == ("redis", "recorded-q")


async def test_at_the_deadline_the_record_is_read_again() -> None:
    """The state given as read first is the record's, since finished: the deadline reads it anew."""
    job_id = new_id()
    await record(job_id, status="in_progress", queue_name="recorded-q")
    stale = await find_job(ALIAS, job_id)
    await JobRecord.objects.filter(job_id=job_id).aupdate(
        status="complete", start_time=T0, finish_time=T1, success=True
    )
    found = await wait_for_job(ALIAS, job_id, timeout=0.05, first=stale)
    assert found.source == "record" and found.finished


async def test_at_the_deadline_a_record_deleted_since_leaves_the_state_last_seen() -> None:
    job_id = new_id()
    await record(job_id, status="in_progress", queue_name="recorded-q")
    stale = await find_job(ALIAS, job_id)
    await JobRecord.objects.filter(job_id=job_id).adelete()
    assert await wait_for_job(ALIAS, job_id, timeout=0.05, first=stale) is stale


async def test_at_the_deadline_a_job_in_redis_is_not_read_from_its_record() -> None:
    job_id = new_id()
    meta = await enqueue(job_id)
    await record(job_id, status="complete", finish_time=T1, success=True)
    assert await wait_for_job(ALIAS, job_id, "lookup-q", timeout=0.1) == FoundJob(meta, "redis")


def forget(job_id: str) -> Callable[[], Awaitable[None]]:
    async def forgotten() -> None:
        del mock()._jobs[job_id]

    return forgotten


async def test_a_job_redis_forgets_is_read_from_its_record() -> None:
    job_id = new_id()
    await enqueue(job_id)
    await record(job_id, status="complete", start_time=T0, finish_time=T1, success=True, result=5)
    gone = asyncio.create_task(later(forget(job_id)))
    found = await wait_for_job(ALIAS, job_id, "lookup-q", timeout=10)
    await gone
    assert found.source == "record" and found.job.result == 5  # type: ignore[union-attr]


async def test_a_job_redis_forgets_without_a_record_is_not_found() -> None:
    job_id = new_id()
    await enqueue(job_id)
    gone = asyncio.create_task(later(forget(job_id)))
    with pytest.raises(JobNotFound) as raised:
        await wait_for_job(ALIAS, job_id, "lookup-q", timeout=10)
    await gone
    assert str(raised.value) == f"job {job_id!r} is gone from Redis and has no job record"
    assert raised.value.job_id == job_id


async def test_a_waiter_holds_no_database_connection() -> None:
    job_id = new_id()
    await enqueue(job_id)
    # ``connection`` is looked up in asgiref's thread, as a view's reads are: looked up here, in the
    # event loop, it would be another connection (this context's), opened and never closed.
    await sync_to_async(lambda: connection.ensure_connection())()
    assert await sync_to_async(lambda: connection.connection)() is not None
    await wait_for_job(ALIAS, job_id, "lookup-q", timeout=0.05)
    assert await sync_to_async(lambda: connection.connection)() is None
