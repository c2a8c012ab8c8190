"""With ``USE_TZ = False`` (Django stores naive times in ``TIME_ZONE``; SQLite refuses aware ones)
the audit trail is written as with it: the enqueue's records, a real worker's updates, an abort
and ``arq_reconcile``, each time stored as the local time of its instant and read back aware."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command

from django_arq import get_queue
from django_arq.audit.rows import records_db
from django_arq.audit.writer import flush_records
from django_arq.models import JobRecord
from tests.audit.burst import run_burst
from tests.conftest import LOCAL_ZONE, stored_instant, time_settings

pytestmark = pytest.mark.django_db(transaction=True)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_records_of_jobs_a_worker_ran_hold_each_time_at_its_instant(
    without_use_tz: None, audit_jobs: None, queue_name: str
) -> None:
    queue = get_queue()
    before = utc_now()
    done = await queue.enqueue("tests.audit.jobs.give", 5, _queue_name=queue_name)
    failed = await queue.enqueue("tests.audit.jobs.fail", "no", _queue_name=queue_name)
    retried = await queue.enqueue("tests.audit.jobs.retry_once", 0.2, _queue_name=queue_name)
    await run_burst(queue_name)
    after = utc_now()
    found = {r.job_id: r async for r in JobRecord.objects.filter(job_id__in=[done.id, failed.id, retried.id])}
    outcomes = {job_id: (r.status, r.success, r.result, r.job_try) for job_id, r in found.items()}
    assert outcomes[done.id] == ("complete", True, 5, 1)
    assert outcomes[failed.id][:2] == ("complete", False)
    assert outcomes[retried.id] == ("complete", True, "again", 2)
    for meta in (done, failed, retried):
        record = found[meta.id]
        assert record.enqueue_time == meta.enqueue_time  # the same instant, read back aware
        assert record.start_time is not None and before <= record.start_time <= after
        assert before <= record.created_at <= record.updated_at <= after
        table, pk = "django_arq_jobrecord", record.pk
        assert (
            await sync_to_async(stored_instant)(table, "enqueue_time", pk, records_db()) == meta.enqueue_time
        )
        finish_time = record.finish_time
        assert finish_time is not None and record.start_time <= finish_time <= after
    [entry] = found[retried.id].try_errors  # JSON text, with its offset
    assert before <= dt.datetime.fromisoformat(entry["time"]) <= found[retried.id].start_time


async def test_an_abort_and_arq_reconcile_write_their_times(
    without_use_tz: None, audit_jobs: None, queue_name: str
) -> None:
    queue = get_queue()
    elsewhere = f"{queue_name}:unread"  # no worker reads it: the deferred job stays
    later = await queue.enqueue("tests.audit.jobs.give", 1, _queue_name=elsewhere, _defer_by=600)
    done = await queue.enqueue("tests.audit.jobs.give", 2, _queue_name=queue_name)
    await run_burst(queue_name)
    assert await sync_to_async(flush_records)()
    before = utc_now()
    with pytest.raises(TimeoutError):  # no worker runs: the request is noted and stays
        await queue.abort_job(later.id, elsewhere, timeout=0)
    after = utc_now()
    aborted = await JobRecord.objects.aget(job_id=later.id)
    assert aborted.abort_requested_at is not None and before <= aborted.abort_requested_at <= after

    # a record left behind by a worker that died before it wrote the end: reconcile reads Redis
    finished = (await JobRecord.objects.aget(job_id=done.id)).finish_time
    left = {"status": "in_progress", "finish_time": None, "success": None}
    await JobRecord.objects.filter(job_id=done.id).aupdate(**left)
    await sync_to_async(call_command)("arq_reconcile", "--alias", "default")
    record = await JobRecord.objects.aget(job_id=done.id)
    assert (record.status, record.success, record.result) == ("complete", True, 2)
    result = await queue.get_job_result(done.id, queue_name)
    assert record.finish_time == result.finish_time and finished is not None


def test_an_insert_stores_local_times_whichever_thread_first_made_its_statement() -> None:
    """The insert's adapters are made once per database, closing over the connection of the thread
    that first wrote (the background writer's, say), which Django does not bring up to date when
    ``USE_TZ`` changes in another thread: the times are still stored as local ones."""
    import threading

    from django.db import connections

    from django_arq.audit import inserts

    def make_statement_here() -> None:
        connections["default"].timezone  # noqa: B018 - as an insert reads it, before the change
        inserts._columns("default")

    inserts._columns.cache_clear()
    thread = threading.Thread(target=make_statement_here)
    thread.start()
    thread.join()
    try:
        with time_settings(USE_TZ=False, TIME_ZONE=LOCAL_ZONE):
            enqueued = dt.datetime(2026, 7, 1, 12, 30, tzinfo=dt.UTC)
            row = {
                "alias": "default",
                "job_id": "threads",
                "name": "n",
                "enqueue_time": enqueued,
                "queue_name": "q",
            }
            inserts.upsert_records("default", [row])
            record = JobRecord.objects.get(job_id="threads")
            assert stored_instant("django_arq_jobrecord", "enqueue_time", record.pk) == enqueued
    finally:
        inserts._columns.cache_clear()
