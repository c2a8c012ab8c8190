"""The audit layer: a JobRecord for every job enqueued through get_queue(), written with one insert."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time

import pytest
import redis
from arq.utils import ms_to_datetime
from asgiref.sync import async_to_sync
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from django_arq import JobSpec, MockArqQueue, RedisArqQueue, get_queue
from django_arq.audit.inserts import COPY_MIN_ROWS
from django_arq.audit.on_commit import aflush_records
from django_arq.audit.queue import AuditedQueue
from django_arq.audit.writer import RecordWriter, flush_records
from django_arq.models import JobRecord
from django_arq.queues import protocol
from django_arq.queues.jobs import JobMetadata, JobStatus
from tests import jobs
from tests.helpers import wait_for
from tests.worker.conftest import audited


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


def test_get_queue_is_audited_and_delegates() -> None:
    queue = audited()
    assert isinstance(queue.backend, RedisArqQueue)
    assert queue.redis_settings == queue.backend.redis_settings  # extra attributes come from the backend
    assert isinstance(audited("mock").backend, MockArqQueue)


@pytest.mark.django_db
def test_sync_enqueue_writes_record(queue_name: str, redis_client: redis.Redis) -> None:
    meta = get_queue().enqueue_sync("tests.jobs.add", 1, b=2, _queue_name=queue_name)
    record = JobRecord.objects.get(job_id=meta.id)
    assert (record.alias, record.name, record.args, record.kwargs) == (
        "default",
        "tests.jobs.add",
        [1],
        {"b": 2},
    )
    assert (record.status, record.queue_name, record.job_try) == ("queued", queue_name, 0)
    assert record.enqueue_time == meta.enqueue_time
    assert redis_client.zscore(queue_name, meta.id) is not None


@pytest.mark.django_db(transaction=True)
async def test_async_enqueue_writes_record(queue_name: str) -> None:
    defer = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    meta = await get_queue().enqueue(
        "tests.jobs.echo", Opaque(), when=defer, _queue_name=queue_name, _defer_by=60
    )
    assert await aflush_records()  # async code hands records to the background writer
    record = await JobRecord.objects.aget(job_id=meta.id)
    assert record.status == "deferred"
    assert record.args == [{"repr": "<Opaque thing>"}]  # unknown values are kept readable, never dropped
    assert record.kwargs == {"when": defer.isoformat()}


def parameter_limit(sqlite_limit: int | None = None) -> int:
    """Parameters per statement: SQLite's, as the library sets it (or ``sqlite_limit``), at most 65535."""
    if connection.vendor != "sqlite":
        return connection.features.max_query_params or 65535
    connection.ensure_connection()
    library = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return min(65535, sqlite_limit or library)


@pytest.mark.django_db
@pytest.mark.parametrize(("count", "sqlite_limit"), [(1, None), (50, None), (1000, None), (1000, 999)])
def test_bulk_enqueue_is_one_insert(
    queue_name: str, redis_client: redis.Redis, count: int, sqlite_limit: int | None
) -> None:
    """One statement for as many rows as the database's parameter limit allows; on SQLite the
    library's limit (Debian's: 250,000), also when lowered at run time (999: 52 rows each)."""
    specs = [JobSpec("tests.jobs.add", (i, i), queue_name=queue_name) for i in range(count)]
    if sqlite_limit and connection.vendor == "sqlite":
        connection.ensure_connection()
        old = connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, sqlite_limit)
    try:
        with CaptureQueriesContext(connection) as queries:
            metas = get_queue().enqueue_many_sync(specs)
    finally:
        if sqlite_limit and connection.vendor == "sqlite":
            connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, old)
    columns = len(JobRecord._meta.concrete_fields) - 1  # all but the primary key
    per_statement = parameter_limit(sqlite_limit) // columns
    sql = [q["sql"] for q in queries]
    inserts = [
        q for q in sql if q.startswith(f'INSERT INTO "{JobRecord._meta.db_table}"') and "ON CONFLICT" in q
    ]
    # PostgreSQL copies batches of COPY_MIN_ROWS or more straight into the table (COPY is not
    # logged as a query); smaller ones are one statement.
    copied = connection.vendor == "postgresql" and count >= COPY_MIN_ROWS
    assert len(inserts) == (0 if copied else -(-count // per_statement))
    assert not [q for q in sql if "_stage" in q]  # no staging table for new records
    assert JobRecord.objects.filter(job_id__in=[m.id for m in metas]).count() == count
    assert redis_client.zcard(queue_name) == count


@pytest.mark.django_db
def test_record_written_first_by_a_worker_is_kept(queue_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker ran the job and wrote its record before the enqueue's record was written: the
    record of the same enqueue (its enqueue time) is kept as the worker wrote it."""
    now_ms = int(time.time() * 1000)
    monkeypatch.setattr(protocol, "timestamp_ms", lambda: now_ms)
    JobRecord.objects.create(
        job_id="raced-1", name="tests.jobs.add", enqueue_time=ms_to_datetime(now_ms), status="complete",
        queue_name=queue_name, alias="default", job_try=1, success=True, result=3,
    )  # fmt: skip
    get_queue().enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name, _job_id="raced-1")
    record = JobRecord.objects.get(job_id="raced-1")
    assert (record.status, record.result, record.job_try) == ("complete", 3, 1)


@pytest.mark.django_db
def test_audit_off_writes_nothing(queue_name: str, settings) -> None:  # type: ignore[no-untyped-def]
    aliases = {**settings.ARQ_QUEUES, "quiet": {**settings.ARQ_QUEUES["default"], "AUDIT": False}}
    with override_settings(ARQ_QUEUES=aliases):
        queue = get_queue("quiet")
        assert isinstance(queue, RedisArqQueue)
        meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)
    assert not JobRecord.objects.filter(job_id=meta.id).exists()


@pytest.mark.django_db(transaction=True)
async def test_mock_alias_records_and_runs() -> None:
    queue = audited("mock")
    meta = await queue.enqueue("tests.jobs.add", 2, 3)
    assert await aflush_records()
    assert await JobRecord.objects.filter(alias="mock", job_id=meta.id).aexists()
    results = await queue.backend.run_queued({"tests.jobs.add": jobs.add})
    assert [r.result for r in results if r.id == meta.id] == [5]


@pytest.mark.django_db
def test_abort_marks_the_request(queue_name: str) -> None:
    queue = get_queue()
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name, _defer_by=3600)
    with pytest.raises(TimeoutError):  # no worker on this queue confirms
        queue.abort_job_sync(meta.id, queue_name, timeout=0.05)
    assert JobRecord.objects.get(job_id=meta.id).abort_requested_at is not None


@pytest.mark.django_db
def test_failed_enqueue_writes_no_record(queue_name: str) -> None:
    queue = get_queue()
    queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name, _job_id="taken-1")
    with pytest.raises(Exception, match="taken-1"):
        queue.enqueue_many_sync(
            [
                JobSpec("tests.jobs.add", (1, 1), queue_name=queue_name, job_id=i)
                for i in ("fresh-1", "taken-1")
            ]
        )
    assert not JobRecord.objects.filter(job_id="fresh-1").exists()
    with transaction.atomic():  # still usable afterwards
        assert JobRecord.objects.filter(job_id="taken-1").count() == 1


@pytest.fixture
def immediate(settings):  # type: ignore[no-untyped-def]
    aliases = {**settings.ARQ_QUEUES, "immediate": {**settings.ARQ_QUEUES["default"], "AUDIT": "immediate"}}
    with override_settings(ARQ_QUEUES=aliases):
        queue = get_queue("immediate")
        assert isinstance(queue, AuditedQueue) and queue.immediate
        yield queue


@pytest.mark.django_db(transaction=True)
def test_records_outside_a_transaction_are_written_in_batches(queue_name: str) -> None:
    queue = audited()
    assert not queue.immediate  # AUDIT: True, the default
    with CaptureQueriesContext(connection) as queries:
        metas = [queue.enqueue_sync("tests.jobs.add", i, i, _queue_name=queue_name) for i in range(30)]
    assert len(queries) == 0  # nothing written by the caller
    assert flush_records(10)
    records = JobRecord.objects.filter(alias="default", job_id__in=[m.id for m in metas])
    assert sorted(r.args[0] for r in records) == list(range(30))


@pytest.mark.django_db(transaction=True)
async def test_async_enqueue_record_is_batched(queue_name: str) -> None:
    meta = await get_queue().enqueue("tests.jobs.add", 1, 2, _queue_name=queue_name)
    assert await aflush_records(10)
    assert await JobRecord.objects.filter(alias="default", job_id=meta.id).aexists()


@pytest.mark.django_db
def test_inside_a_transaction_the_record_is_written_at_once(queue_name: str) -> None:
    with CaptureQueriesContext(connection) as queries:  # in pytest-django's transaction
        meta = get_queue().enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)
    assert len(queries) == 1  # one insert, in the caller's transaction
    assert JobRecord.objects.filter(alias="default", job_id=meta.id).exists()


@pytest.mark.django_db(transaction=True)
def test_immediate_writes_the_record_in_the_call(immediate: AuditedQueue, queue_name: str) -> None:
    meta = immediate.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)
    assert JobRecord.objects.filter(alias="immediate", job_id=meta.id).exists()  # committed already
    ameta = async_to_sync(immediate.enqueue)("tests.jobs.add", 3, 4, _queue_name=queue_name)
    assert JobRecord.objects.filter(alias="immediate", job_id=ameta.id).exists()


@pytest.mark.django_db(transaction=True)
def test_a_forked_child_starts_with_an_empty_writer(queue_name: str) -> None:
    from django_arq.audit.writer import writer

    meta = get_queue().enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name)  # rows in flight
    pid = os.fork()
    if pid == 0:  # the child: none of the parent's rows, no thread, nothing to wait for
        empty = writer._pending == [] and writer._added == 0 and writer._thread is None
        os._exit(0 if empty and flush_records(0.5) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert flush_records()  # the parent still writes its own
    assert JobRecord.objects.filter(job_id=meta.id).count() == 1


def test_the_writer_keeps_memory_bounded_while_the_database_is_down(caplog: pytest.LogCaptureFixture) -> None:
    def failing(batch: object) -> None:
        raise OSError("database down")

    bounded = RecordWriter(interval=0.01, max_pending=10)
    bounded._write = failing  # type: ignore[method-assign]
    now = dt.datetime.now(dt.UTC)
    for i in range(6):
        bounded.add(
            "default", [JobMetadata(f"j{i}-{k}", "t", (), {}, now, JobStatus.queued, "q") for k in range(4)]
        )
    assert "dropped" in caplog.text and "arq_reconcile" in caplog.text
    assert bounded.flush(0.05) is False  # what is kept is still waited for, and retried
    wait_for(lambda: bounded._added - bounded._written == sum(len(h.jobs) for h in bounded._pending))
    waiting = [m.id for handed in bounded._pending for m in handed.jobs]
    assert 0 < len(waiting) <= 12 and "j5-3" in waiting and "j0-0" not in waiting  # the newest are kept
    bounded._write = lambda batch: None  # type: ignore[method-assign]
    bounded.stop(5)
    assert bounded._written == bounded._added and bounded._thread is None


@pytest.mark.django_db(transaction=True)
def test_an_abort_the_backend_refuses_leaves_the_record_alone(queue_name: str) -> None:
    """A wrong queue name: the backend does not find the job, so no abort was requested, and a
    later failure of the job must not read as "aborted"."""
    queue = get_queue()
    meta = queue.enqueue_sync("tests.jobs.add", 1, 2, _queue_name=queue_name, _defer_by=3600)
    assert flush_records()
    assert queue.abort_job_sync(meta.id, f"{queue_name}:wrong", timeout=0.05) is False
    assert async_to_sync(queue.abort_job)(meta.id, f"{queue_name}:wrong", timeout=0.05) is False
    assert JobRecord.objects.get(job_id=meta.id).abort_requested_at is None
    with pytest.raises(TimeoutError):  # the right queue: the request waits for a worker
        async_to_sync(queue.abort_job)(meta.id, queue_name, timeout=0.05)
    assert JobRecord.objects.get(job_id=meta.id).abort_requested_at is not None


@pytest.mark.django_db(transaction=True)
async def test_an_abort_a_worker_confirms_is_noted_on_the_record() -> None:
    queue = audited("mock")
    meta = await queue.enqueue("tests.jobs.add", 1, 2)
    assert await aflush_records()
    assert await queue.abort_job(meta.id) is True  # the mock aborts a queued job at once
    record = await JobRecord.objects.aget(alias="mock", job_id=meta.id)
    assert record.abort_requested_at is not None
