"""MockArqQueue beyond the contract: its test controls, and run_queued (order, retries, sync jobs in
another thread with their database connection closed after)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.utils import timestamp_ms
from arq.worker import JobExecutionFailed, Retry
from asgiref.sync import async_to_sync
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from django_arq import JobNotQueued, JobStatus, MockArqQueue, report_progress
from django_arq.queues import mock
from django_arq.queues.jobs import score_not_before
from django_arq.queues.mock import MAX_TRIES
from django_arq.queues.serializers import SerializedError
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db

USED: list[tuple[int, BaseDatabaseWrapper, Any]] = []


def uses_the_database(ctx: dict[str, Any]) -> int:
    """A sync job that queries the database; notes its thread, connection and backend id."""
    conn = connections["default"]
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if conn.vendor == "postgresql" else "SELECT 1")
        (backend,) = cursor.fetchone()
    USED.append((threading.get_ident(), conn, backend))
    return int(ctx["job_try"])


def other_sessions() -> int:
    """Sessions on the test database other than this thread's (PostgreSQL), as they are now: the
    test's transaction would read ``pg_stat_activity`` as at its first read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (count,) = cursor.fetchone()
    return int(count)


def test_sync_jobs_leave_no_database_connection_open() -> None:
    USED.clear()
    queue = MockArqQueue()
    before = other_sessions() if connection.vendor == "postgresql" else 0
    for _ in range(5):
        queue.enqueue_sync("job")
    results = async_to_sync(queue.run_queued)({"job": uses_the_database})
    assert [(r.success, r.result) for r in results] == [(True, 1)] * 5
    assert len(USED) == 5
    assert all(thread != threading.get_ident() for thread, _, _ in USED)  # not the caller's thread
    assert all(conn is not connection and conn.connection is None for _, conn, _ in USED)  # closed
    if connection.vendor == "postgresql":  # and the server agrees: no session left behind
        wait_for(lambda: other_sessions() == before, timeout=5)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [[b for *_, b in USED]]
            )
            assert cursor.fetchone() == (0,)


async def test_set_in_progress_of_a_finished_job_is_refused() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.add", 1, 2)
    await queue.set_complete(meta.id, result=3)
    with pytest.raises(JobNotQueued, match="already finished") as info:
        await queue.set_in_progress(meta.id)
    assert info.value.job_id == meta.id
    assert (await queue.get_job_result(meta.id)).result == 3


async def test_run_queued_runs_due_jobs_earliest_first() -> None:
    queue = MockArqQueue()
    now = datetime.now(UTC)
    order: list[str] = []

    async def note(ctx: dict[str, Any], label: str) -> str:
        order.append(label)
        return label

    for label, seconds_ago in [("middle", 2), ("last", 1), ("first", 3)]:
        await queue.enqueue("note", label, _defer_until=now - timedelta(seconds=seconds_ago))
    later = await queue.enqueue("note", "later", _defer_by=3600)
    results = await queue.run_queued({"note": note})
    assert order == ["first", "middle", "last"] == [r.result for r in results]
    assert (await queue.get_job_metadata(later.id)).status is JobStatus.deferred


async def test_a_job_raising_retry_with_a_delay_ends_up_deferred() -> None:
    queue = MockArqQueue()
    tries: list[int] = []

    async def retry_later(ctx: dict[str, Any]) -> None:
        tries.append(ctx["job_try"])
        raise Retry(defer=60)

    meta = await queue.enqueue("retry_later")
    before = timestamp_ms()
    # A runner that ignored the delay would run the job again and again: bounded, it fails instead.
    results = await asyncio.wait_for(queue.run_queued({"retry_later": retry_later}), timeout=30)
    assert results == [] and tries == [1]
    assert (await queue.get_job_metadata(meta.id)).status is JobStatus.deferred
    (job,) = [j for j in queue._jobs.values() if j.metadata.id == meta.id]
    assert before + 59_000 <= job.score_ms <= timestamp_ms() + 60_000
    await asyncio.wait_for(queue.run_queued({"retry_later": retry_later}, include_deferred=True), timeout=30)
    assert tries == [1, 2]  # run once more, then deferred again
    assert (await queue.get_job_metadata(meta.id)).status is JobStatus.deferred


async def test_a_job_retrying_at_once_fails_after_arqs_max_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Retry()`` makes the job due at once, not a millisecond later: the mock's clock stands still."""
    now = timestamp_ms()
    monkeypatch.setattr(mock, "timestamp_ms", lambda: now)
    queue = MockArqQueue()
    tries: list[int] = []

    async def retry_now(ctx: dict[str, Any]) -> None:
        tries.append(ctx["job_try"])
        raise Retry()

    meta = await queue.enqueue("retry_now")
    (result,) = await asyncio.wait_for(queue.run_queued({"retry_now": retry_now}), timeout=30)
    assert tries == list(range(1, MAX_TRIES + 1))
    assert result.id == meta.id and result.success is False
    assert str(result.result) == f"max {MAX_TRIES} retries exceeded"


async def test_a_sync_job_gets_its_keyword_arguments() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.sync_add", 1, b=2)
    (result,) = await asyncio.wait_for(queue.run_queued(), timeout=30)
    assert (result.id, result.success, result.result) == (meta.id, True, 3)


async def test_a_failed_job_s_result_keeps_its_last_report() -> None:
    """The last report, held back by the interval, is stored once the job has failed."""
    queue = MockArqQueue(progress_interval=60)

    async def fails_after_reports(ctx: dict[str, Any]) -> None:
        await report_progress(ctx, 1, 10)
        await report_progress(ctx, 9, 10, "almost")
        raise ValueError("boom")

    await queue.enqueue("fails_after_reports")
    (result,) = await asyncio.wait_for(
        queue.run_queued({"fails_after_reports": fails_after_reports}), timeout=30
    )
    assert result.success is False and result.progress is not None
    assert (result.progress.done, result.progress.message) == (9, "almost")


async def test_aborting_a_running_job_cancels_it() -> None:
    queue = MockArqQueue()
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def waits(ctx: dict[str, Any]) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    meta = await queue.enqueue("waits")
    runner = asyncio.ensure_future(queue.run_queued({"waits": waits}))
    await asyncio.wait_for(started.wait(), timeout=30)
    assert await asyncio.to_thread(queue.abort_job_sync, meta.id)
    await asyncio.wait_for(cancelled.wait(), timeout=30)  # by the abort, not by a timeout below
    (result,) = await asyncio.wait_for(runner, timeout=30)
    assert (result.id, result.success, type(result.result)) == (meta.id, False, asyncio.CancelledError)


async def test_a_job_of_an_unknown_function_fails_as_a_worker_s_does() -> None:
    queue = MockArqQueue()
    meta = await queue.enqueue("tests.jobs.no_such_function")
    (result,) = await asyncio.wait_for(queue.run_queued(), timeout=30)
    assert (result.id, result.success, type(result.result)) == (meta.id, False, JobExecutionFailed)
    assert str(result.result) == "function 'tests.jobs.no_such_function' not found"
    assert await queue.get_job_result(meta.id) == result


async def test_a_job_s_context_has_its_enqueue_time_and_score() -> None:
    queue = MockArqQueue()
    when = datetime.now(UTC) - timedelta(seconds=5)

    async def context(ctx: dict[str, Any]) -> tuple[Any, Any]:
        return ctx["enqueue_time"], ctx["score"]

    meta = await queue.enqueue("context", _defer_until=when)
    (result,) = await asyncio.wait_for(queue.run_queued({"context": context}), timeout=30)
    assert result.result == (meta.enqueue_time, score_not_before(when))


async def test_aborting_a_job_that_waits_for_its_retry() -> None:
    queue = MockArqQueue()

    async def retry_later(ctx: dict[str, Any]) -> None:
        raise Retry(defer=60)

    meta = await queue.enqueue("retry_later")
    assert await asyncio.wait_for(queue.run_queued({"retry_later": retry_later}), timeout=30) == []
    assert await queue.abort_job(meta.id) is True
    result = await queue.get_job_result(meta.id)
    assert (result.success, type(result.result)) == (False, asyncio.CancelledError)


async def test_a_run_job_s_start_time_is_when_it_was_picked_up() -> None:
    queue = MockArqQueue()
    seen: list[datetime] = []

    async def stamp(ctx: dict[str, Any]) -> None:
        seen.append(datetime.now(UTC))
        while datetime.now(UTC) <= seen[0]:  # the clock moves on before the job finishes
            pass

    await queue.enqueue("stamp")
    (result,) = await asyncio.wait_for(queue.run_queued({"stamp": stamp}), timeout=30)
    assert result.start_time is not None and result.finish_time is not None
    assert result.start_time <= seen[0] < result.finish_time


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("returns_lock", "django_arq.queues.storable.UnserializableResult"),
        ("returns_unshowable", "django_arq.queues.storable.UnserializableResult"),
        ("raises_needs_two", "tests.worker.unstorable.NeedsTwo"),
        ("raises_holding_lock", "tests.worker.unstorable.HoldsLock"),
    ],
)
async def test_an_outcome_the_serializer_cannot_store_is_the_failure_a_worker_stores(
    name: str, kind: str
) -> None:
    """As django-arq's worker stores it: a failure naming the class (and the serializer's error)."""
    queue = MockArqQueue(default_queue_name="mock-unstorable")
    job = await queue.enqueue(f"tests.worker.unstorable.{name}")
    (result,) = await queue.run_queued()
    assert (result.id, result.success) == (job.id, False)
    assert isinstance(result.result, SerializedError) and result.result.type_name == kind
