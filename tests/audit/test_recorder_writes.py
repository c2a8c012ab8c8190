"""The recorder's write: status fields of existing records updated in bulk, missing ones created."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from arq.worker import Retry
from django.db import connection, connections, transaction

from django_arq.audit import recorder as recorder_module
from django_arq.audit.inserts import upsert_records
from django_arq.audit.recorder import Creation, JobRecorder, Pending
from django_arq.audit.updates import update_records
from django_arq.models import JobRecord
from tests.conftest import time_settings

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def recorder() -> Iterator[JobRecorder]:
    rec = JobRecorder("default", "q")
    yield rec
    rec._executor.shutdown()


def existing(job_id: str, **fields: Any) -> JobRecord:
    values = {"name": "tests.jobs.add", "args": [1], "enqueue_time": T0, "queue_name": "q", **fields}
    return JobRecord.objects.create(job_id=job_id, **values)


def creation(name: str = "tests.jobs.echo") -> Creation:
    return Creation(name, (1, T0), {"x": "y"}, T0, "q")


def test_updates_existing_records_and_creates_missing_ones(recorder: JobRecorder) -> None:
    started = existing("started", status="in_progress", start_time=T0, job_try=1, result=7)
    before = started.updated_at
    end = T0 + dt.timedelta(seconds=1)
    recorder._write(
        {
            "started": Pending({"status": "complete", "finish_time": end, "success": True, "result": None}),
            "new": Pending(
                {"status": "complete", "finish_time": end, "success": True, "result": [3]}, creation()
            ),
            "partial": Pending({"status": "complete", "success": False}),  # nothing to create it from
        }
    )
    rec = JobRecord.objects.get(job_id="started")
    assert (rec.status, rec.finish_time, rec.success, rec.result) == ("complete", end, True, None)
    assert (rec.start_time, rec.job_try, rec.name, rec.args) == (T0, 1, "tests.jobs.add", [1])  # kept
    assert rec.updated_at > before
    new = JobRecord.objects.get(job_id="new")
    assert (new.name, new.args, new.kwargs, new.enqueue_time, new.queue_name) == (
        "tests.jobs.echo", [1, T0.isoformat()], {"x": "y"}, T0, "q",
    )  # fmt: skip
    assert (new.alias, new.status, new.success, new.result, new.job_try) == (
        "default", "complete", True, [3], 0,
    )  # fmt: skip
    assert not JobRecord.objects.filter(job_id="partial").exists()


def test_a_record_inserted_meanwhile_by_the_enqueue_side(
    recorder: JobRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The enqueue side writes the record between the worker's update and its insert."""

    def update_then_enqueue(*args: Any) -> set[str]:
        missing = update_records(*args)
        row = {"job_id": "late", "alias": "default", "name": "tests.jobs.echo", "args": [1],
               "kwargs": {}, "enqueue_time": T0, "queue_name": "q"}  # fmt: skip
        upsert_records("default", [row])
        return missing

    monkeypatch.setattr(recorder_module, "update_records", update_then_enqueue)
    recorder._write({"late": Pending({"status": "in_progress", "start_time": T0, "job_try": 1}, creation())})
    rec = JobRecord.objects.get(job_id="late")
    assert (rec.status, rec.start_time, rec.job_try, rec.args) == ("in_progress", T0, 1, [1])


@pytest.mark.parametrize("other_database", [False, True])
def test_bulk_update_of_many_records(other_database: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several hundred records, some missing; other databases update record by record."""
    JobRecord.objects.bulk_create(
        JobRecord(job_id=f"j{i}", name="n", enqueue_time=T0, queue_name="q", error="old") for i in range(300)
    )
    existing("elsewhere", alias="other")
    if other_database:
        monkeypatch.setattr(connection, "vendor", "other")
    updates = {f"j{i}": {"status": "complete", "result": {"i": i}, "error": ""} for i in range(0, 320, 2)}
    updates["elsewhere"] = {"status": "complete"}  # the same job id under another alias
    missing = update_records("default", "default", updates, T0)
    assert missing == {f"j{i}" for i in range(300, 320, 2)} | {"elsewhere"}
    records = {r.job_id: r for r in JobRecord.objects.filter(alias="default")}
    assert (records["j0"].status, records["j0"].result, records["j0"].error) == ("complete", {"i": 0}, "")
    assert (records["j1"].status, records["j1"].result, records["j1"].error) == ("queued", None, "old")
    assert sum(r.status == "complete" for r in records.values()) == 150
    assert records["j298"].updated_at == T0
    assert JobRecord.objects.get(alias="other").status == "queued"
    assert update_records("default", "default", updates, T0) == missing  # again, in a new transaction


async def test_updates_kept_for_a_database_that_is_down_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    rec = JobRecorder("default", "q", max_pending=3)

    def failing(batch: object) -> None:
        raise OSError("database down")

    rec._write = failing  # type: ignore[method-assign]
    for i in range(5):
        rec.job_started({"job_id": f"j{i}", "enqueue_time": T0, "job_try": 1}, "tests.jobs.add", (i,), {})
    assert await rec.flush() is False
    assert list(rec._pending) == ["j2", "j3", "j4"]  # the newest kept, to be retried
    assert "dropped the record updates of 2 job(s)" in caplog.text and "arq_reconcile" in caplog.text
    rec._executor.shutdown()


def test_concurrent_batched_inserts_of_the_same_records_do_not_deadlock() -> None:
    """The enqueue side's writer and a worker's recorder insert overlapping records in their own
    transactions; given in opposite orders, both insert in key order and cannot wait in a cycle."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: no row locks to deadlock on")
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def insert(ids: list[str], update: tuple[str, ...]) -> None:
        fields = {"alias": "default", "name": "t", "enqueue_time": T0, "status": "queued", "queue_name": "q"}
        rows = [{"job_id": i, **fields} for i in ids]
        try:
            for _ in range(20):
                start.wait(5)
                with transaction.atomic():
                    upsert_records("default", rows, update)
                start.wait(5)
                if threading.current_thread() is threads[0]:
                    JobRecord.objects.filter(job_id__in=ids).delete()
        except BaseException as exc:  # a deadlock, or a barrier broken by the other thread's
            errors.append(exc)
            start.abort()
        finally:
            connections.close_all()

    ids = [f"dl-{i:03d}" for i in range(60)]
    threads = [
        threading.Thread(target=insert, args=(ids, ())),
        threading.Thread(target=insert, args=(ids[::-1], ("status",))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert JobRecord.objects.filter(job_id__in=ids).count() in (0, 60)


def test_a_record_committed_just_after_the_update_is_updated_by_the_upsert(recorder: JobRecorder) -> None:
    """The enqueue side's writer commits a record after the worker's bulk update missed it and
    before the worker looks for missing records: the update still lands (not the record as queued)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers: no commit can come between the update and its query")
    inserted, commit = threading.Event(), threading.Event()

    def enqueue_side() -> None:
        row = {"alias": "default", "job_id": "late", "name": "t", "enqueue_time": T0, "status": "queued"}
        try:
            with transaction.atomic():
                upsert_records("default", [{**row, "queue_name": "q"}])
                inserted.set()
                commit.wait(10)
        finally:
            connections.close_all()

    def commit_after_update(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if sql.startswith("UPDATE") and not commit.is_set():
            commit.set()
            writer.join(10)  # committed: a later statement of this transaction sees the record
        return result

    writer = threading.Thread(target=enqueue_side)
    writer.start()
    try:
        assert inserted.wait(10)
        end = T0 + dt.timedelta(seconds=1)
        update = {"status": "complete", "finish_time": end, "success": True, "result": 3}
        with connection.execute_wrapper(commit_after_update):
            recorder._write({"late": Pending(update, creation())})
    finally:
        commit.set()
        writer.join(10)
    rec = JobRecord.objects.get(job_id="late")
    assert (rec.status, rec.finish_time, rec.success, rec.result) == ("complete", end, True, 3)
    assert (rec.name, rec.queue_name) == ("t", "q")  # the enqueue side's creation kept


def two_recorders() -> tuple[JobRecorder, JobRecorder]:
    first, second = JobRecorder("default", "q"), JobRecorder("default", "q")
    first.worker_id, second.worker_id = "A", "B"
    return first, second


def test_a_try_recorded_after_the_next_one_does_not_set_its_record_back() -> None:
    """Worker A's try 1 asks for a retry, due at once; worker B runs try 2 and its record is written
    first. A's late write adds its try's error and leaves the rest as B wrote it."""
    existing("j", status="queued", enqueue_time=T0)
    a, b = two_recorders()
    try:
        a.job_started({"job_id": "j", "job_try": 1, "enqueue_time": T0}, "tests.jobs.add", (1,), {})
        a._write(a._pending)  # its end's write then knows the try from the job, not from the status
        a._pending.clear()
        a.job_raised("j", Retry(), aborted=False)
        a.job_ended("j", finished=False, deferred=False)
        b.job_started({"job_id": "j", "job_try": 2, "enqueue_time": T0}, "tests.jobs.add", (1,), {})
        b.job_returned("j", 3)
        b.job_ended("j", finished=True, deferred=False)
        b._write(b._pending)
        a._write(a._pending)
    finally:
        a._executor.shutdown()
        b._executor.shutdown()
    rec = JobRecord.objects.get(job_id="j")
    assert (rec.status, rec.job_try, rec.success, rec.result) == ("complete", 2, True, 3)
    assert (rec.worker_id, rec.error, rec.next_try_at) == ("B", "", None)
    assert [e["try"] for e in rec.try_errors] == [1]


def test_the_first_try_of_a_job_id_enqueued_again_updates_the_record_of_its_earlier_job(
    recorder: JobRecorder,
) -> None:
    """arq forgot a job that took three tries, and its id was enqueued again (by a plain arq client:
    no record written at enqueue): the new job's first try is of another enqueue, so its record's
    later try does not hold the update back, and the record becomes the new job's whole."""
    earlier = T0 - dt.timedelta(days=1)
    ended = {"status": "complete", "job_try": 3, "success": False, "error": "boom", "finish_time": earlier}
    old = existing("j", **ended, enqueue_time=earlier, try_errors=[{"try": 1}, {"try": 2}])
    recorder.job_started({"job_id": "j", "job_try": 1, "enqueue_time": T0}, "tests.jobs.echo", (2,), {})
    recorder._write(recorder._pending)
    rec = JobRecord.objects.get(job_id="j")
    assert (rec.pk, rec.status, rec.job_try, rec.worker_id) == (old.pk, "in_progress", 1, recorder.worker_id)
    assert (rec.name, rec.args, rec.enqueue_time) == ("tests.jobs.echo", [2], T0)
    assert (rec.success, rec.error, rec.finish_time, rec.try_errors) == (None, "", None, [])
    recorder._pending.clear()
    recorder.job_raised("j", Retry(), aborted=False)  # its try errors start afresh too
    recorder.job_ended("j", finished=False, deferred=False)
    recorder._write(recorder._pending)
    assert [e["try"] for e in JobRecord.objects.get(job_id="j").try_errors] == [1]


def test_the_try_errors_of_a_job_id_enqueued_again_leave_those_of_its_earlier_job(
    recorder: JobRecorder,
) -> None:
    """The new job's first try ends, put back in the queue, before its start was written: its try
    error does not join those of the earlier job's record, which the write replaces."""
    earlier = T0 - dt.timedelta(days=1)
    existing("j", status="complete", job_try=2, enqueue_time=earlier, try_errors=[{"try": 1}, {"try": 2}])
    recorder.job_started({"job_id": "j", "job_try": 1, "enqueue_time": T0}, "tests.jobs.echo", (2,), {})
    recorder.job_raised("j", Retry(), aborted=False)
    recorder.job_ended("j", finished=False, deferred=False)
    recorder._write(recorder._pending)
    rec = JobRecord.objects.get(job_id="j")
    assert (rec.enqueue_time, rec.job_try, [e["try"] for e in rec.try_errors]) == (T0, 1, [1])


def test_a_job_id_enqueued_again_while_its_earlier_job_ran_keeps_the_later_record(
    recorder: JobRecorder,
) -> None:
    """The earlier job's start is written after the record of its id's next enqueue (arq forgot
    the job at once, ``keep_result=0``): that record is not taken back to the earlier job."""
    later = T0 + dt.timedelta(seconds=1)
    existing("j", name="tests.jobs.echo", args=[2], enqueue_time=later)
    recorder.job_started({"job_id": "j", "job_try": 1, "enqueue_time": T0}, "tests.jobs.add", (1,), {})
    recorder._write(recorder._pending)
    rec = JobRecord.objects.get(job_id="j")
    assert (rec.name, rec.args, rec.enqueue_time) == ("tests.jobs.echo", [2], later)
    assert (rec.status, rec.job_try, rec.worker_id, rec.start_time) == ("queued", 0, "", None)


def test_a_try_that_finds_the_record_missing_after_the_next_one_does_too_does_not_set_it_back() -> None:
    """A job from a plain arq client, so no record yet: both workers find the record missing, and
    the worker of try 2 creates it between the other's update and its insert."""
    a, b = two_recorders()
    table = connection.ops.quote_name(JobRecord._meta.db_table)
    inserts: list[str] = []

    def b_creates_it_first(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith(f"INSERT INTO {table} ") and not inserts:
            inserts.append(sql)
            b._write(b._pending)
        return execute(sql, params, many, context)

    try:
        a.job_started({"job_id": "j", "job_try": 1, "enqueue_time": T0}, "tests.jobs.add", (1,), {})
        a.job_raised("j", Retry(), aborted=False)
        a.job_ended("j", finished=False, deferred=False)
        b.job_started({"job_id": "j", "job_try": 2, "enqueue_time": T0}, "tests.jobs.add", (1,), {})
        b.job_returned("j", 3)
        b.job_ended("j", finished=True, deferred=False)
        with connection.execute_wrapper(b_creates_it_first):
            a._write(a._pending)
    finally:
        a._executor.shutdown()
        b._executor.shutdown()
    assert inserts
    rec = JobRecord.objects.get(job_id="j")
    assert (rec.status, rec.job_try, rec.success, rec.result, rec.worker_id) == ("complete", 2, True, 3, "B")
    assert [e["try"] for e in rec.try_errors] == [1]


@pytest.mark.parametrize("recorded", [True, False], ids=["record written at enqueue", "plain arq client"])
def test_a_job_id_run_twice_before_a_write_leaves_the_later_jobs_record(
    recorder: JobRecorder, recorded: bool
) -> None:
    """arq forgot the first job at once (``keep_result=0``), and the id ran again on the same worker
    before its recorder wrote: the record is the later job's, with its run's outcome."""
    later = T0 + dt.timedelta(seconds=1)
    if recorded:
        existing("j", name="tests.jobs.echo", args=[2], enqueue_time=later)
    for enqueued, name, value in ((T0, "tests.jobs.add", 1), (later, "tests.jobs.echo", 2)):
        recorder.job_started({"job_id": "j", "job_try": 1, "enqueue_time": enqueued}, name, (value,), {})
        recorder.job_returned("j", value)
        recorder.job_ended("j", finished=True, deferred=False)
    recorder._write(recorder._pending)
    rec = JobRecord.objects.get(job_id="j")
    assert (rec.name, rec.args, rec.enqueue_time) == ("tests.jobs.echo", [2], later)
    assert (rec.status, rec.success, rec.result, rec.job_try) == ("complete", True, 2, 1)


def test_a_salvaged_write_about_an_earlier_job_leaves_the_later_jobs_record(recorder: JobRecorder) -> None:
    """The end of the first job (its start written before), written in its safe form, as when the
    database refused its batch: it still names its enqueue, so the later job's record is left."""
    existing("s", name="tests.jobs.echo", args=[2], enqueue_time=T0 + dt.timedelta(seconds=1))
    recorder.job_started({"job_id": "s", "job_try": 1, "enqueue_time": T0}, "tests.jobs.add", (1,), {})
    recorder._pending.clear()
    recorder.job_raised("s", ValueError("the earlier job"), aborted=False)
    recorder.job_ended("s", finished=True, deferred=False)
    ((job_id, pending),) = recorder._pending.items()
    assert "job_try" not in pending.status  # the try known from the job's start only
    recorder._write_items([recorder_module._safe_item(recorder._item(job_id, pending))])
    rec = JobRecord.objects.get(job_id="s")
    assert (rec.name, rec.status, rec.success, rec.error) == ("tests.jobs.echo", "queued", None, "")


def test_try_errors_of_a_job_enqueued_in_a_repeated_hour_stay_without_use_tz(recorder: JobRecorder) -> None:
    """``USE_TZ = False`` in a zone whose clocks go back: a job enqueued in the repeated hour is
    stored at a local time read back as the hour's first instant; its record is still of the same
    enqueue as the job's later tries, whose errors add to those stored."""
    repeated = dt.datetime(2024, 11, 3, 6, 30, tzinfo=dt.UTC)  # the second 01:30 in New York
    with time_settings(USE_TZ=False, TIME_ZONE="America/New_York"):
        first = {"try": 1, "error": "first", "time": "", "lost": False}
        existing("dst", status="in_progress", job_try=1, enqueue_time=repeated, try_errors=[first])
        recorder.job_started(
            {"job_id": "dst", "job_try": 2, "enqueue_time": repeated}, "tests.jobs.add", (1,), {}
        )
        recorder.job_raised("dst", Retry(), aborted=False)
        recorder.job_ended("dst", finished=False, deferred=False)
        recorder._write(recorder._pending)
        tries = [e["try"] for e in JobRecord.objects.get(job_id="dst").try_errors]
        connections["default"].close()
    assert tries == [1, 2]
