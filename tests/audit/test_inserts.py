"""upsert_records on its own: batches large enough for COPY, with and without existing records."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from contextlib import nullcontext

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from django_arq.audit.inserts import COPY_CHUNK, COPY_MIN_ROWS, upsert_records
from django_arq.audit.payloads import JsonText, json_text
from django_arq.models import JobRecord
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def rows(ids: range, **fields: object) -> list[dict[str, object]]:
    base = {"alias": "default", "name": "tests.jobs.add", "enqueue_time": T0, "queue_name": "q", **fields}
    return [{"job_id": f"u{i:04d}", "args": json_text([i]), **base} for i in ids]


@pytest.mark.parametrize("in_transaction", [False, True])
def test_a_large_batch_with_some_records_existing_inserts_only_the_others(in_transaction: bool) -> None:
    """The straight COPY meets an existing record: nothing is lost, the existing one is kept,
    and a surrounding transaction goes on (its earlier work kept)."""
    n = 3 * COPY_MIN_ROWS
    upsert_records("default", rows(range(n // 2, n // 2 + 1), status="complete", queue_name="kept"))
    with transaction.atomic() if in_transaction else nullcontext():
        JobRecord.objects.create(job_id="before", name="n", enqueue_time=T0, queue_name="q")
        upsert_records("default", rows(range(n)))
        assert JobRecord.objects.filter(alias="default").count() == n + 1
    kept = JobRecord.objects.get(job_id=f"u{n // 2:04d}")
    assert (kept.status, kept.queue_name, kept.args) == ("complete", "kept", [n // 2])
    assert JobRecord.objects.get(job_id="u0001").args == [1]
    assert JobRecord.objects.filter(job_id="before").exists()


def test_a_large_batch_of_new_records_is_copied_straight_into_the_table() -> None:
    stage = "pg_temp.django_arq_jobrecord_stage"
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {stage}")
    n = 5 * COPY_MIN_ROWS
    upsert_records("default", rows(range(n), kwargs={"k": "v"}))
    assert JobRecord.objects.count() == n
    record = JobRecord.objects.get(job_id="u0007")
    assert (record.args, record.kwargs, record.enqueue_time, record.status) == ([7], {"k": "v"}, T0, "queued")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # no staging table was needed
            cursor.execute("SELECT to_regclass(%s)", [stage])
            assert cursor.fetchone() == (None,)


def test_databases_without_on_conflict_get_json_values_not_json_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Other databases go through bulk_create: JSON text from json_text is loaded, not stored as a string."""
    monkeypatch.setattr(connection.features, "supports_update_conflicts_with_target", False)
    upsert_records("default", rows(range(3), kwargs=json_text({"k": [1]})))
    upsert_records("default", rows(range(4)))  # the three exist: ignored
    record = JobRecord.objects.get(job_id="u0002")
    assert (record.args, record.kwargs) == ([2], {"k": [1]})
    assert JobRecord.objects.get(job_id="u0003").args == [3]


#: Text COPY must escape (backslash, tab, newline, carriage return) or could misread (``\N``, ``\.``).
TRICKY = ["back\\slash", "tab\there", "new\nline", "cr\rhere", "\\N", "\\.", "ünïcødé ✓", "quote'\"", "end\\"]


def tricky_rows(ids: range) -> list[dict[str, object]]:
    kolkata = dt.timezone(dt.timedelta(hours=5, minutes=30))
    return [
        {
            "alias": "default",
            "job_id": f"t{i:04d}{TRICKY[i % len(TRICKY)]}",
            "name": TRICKY[(i + 1) % len(TRICKY)],
            "args": json_text([TRICKY[i % len(TRICKY)], {"\\": "\n", "n": i}]),
            "kwargs": {"k": TRICKY[(i + 2) % len(TRICKY)], "f": 1.5},  # a value, not JSON text
            "enqueue_time": T0.astimezone(kolkata) + dt.timedelta(microseconds=i),
            "queue_name": TRICKY[(i + 3) % len(TRICKY)],
            "error": TRICKY[(i + 4) % len(TRICKY)],
            "success": [True, False, None][i % 3],
            "job_try": i,
            "result": [None, {"r": TRICKY[i % len(TRICKY)]}, "\\"][i % 3],
        }
        for i in ids
    ]


def assert_stored(written: list[dict[str, object]]) -> None:
    records = {r.job_id: r for r in JobRecord.objects.all()}
    assert len(records) == len(written)
    for row in written:
        record = records[str(row["job_id"])]
        for name, value in row.items():
            expected = json.loads(value) if isinstance(value, JsonText) else value
            assert getattr(record, name) == expected, (row["job_id"], name)


@pytest.mark.parametrize("count", [COPY_MIN_ROWS - 1, 3 * COPY_MIN_ROWS, 2 * COPY_CHUNK + 7])
def test_every_value_is_stored_as_given_on_every_write_path(count: int) -> None:
    """Statements (few rows), a straight COPY (a new batch, in one piece or several) and the staged
    COPY (updates) store the same values: special characters, JSON text and values, booleans,
    NULLs, time zones."""
    written = tricky_rows(range(count))
    upsert_records("default", written)
    assert_stored(written)
    end = dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    updated = [
        {**row, "error": f"{row['error']}\t\\\r\n", "success": row["success"] is not True, "finish_time": end}
        for row in written
    ]
    upsert_records("default", updated, update=["error", "success", "finish_time"])
    assert_stored(updated)


@pytest.mark.parametrize("count", [3, 3 * COPY_MIN_ROWS], ids=["statement", "copy"])
def test_a_record_of_an_earlier_enqueue_of_the_id_is_replaced_whole(count: int) -> None:
    """arq forgot a job, and its id was enqueued again: the new enqueue's row replaces the old
    record (its run's fields too), while a record of the same enqueue, or of a later one, is kept."""
    later = T0 + dt.timedelta(days=1)
    ran = {"status": "complete", "success": False, "error": "boom", "job_try": 3, "finish_time": T0}
    old = rows(range(3), **ran, start_time=T0, worker_id="w", trace_id="a" * 32, try_errors=[{"try": 1}])
    old[2]["enqueue_time"] = later + dt.timedelta(days=1)  # enqueued after the row below: kept
    upsert_records("default", old)
    before = {r.job_id: r for r in JobRecord.objects.all()}
    again = rows(range(count), name="tests.jobs.echo", kwargs={"k": "v"}, enqueue_time=later)
    again[1]["enqueue_time"] = T0  # the same enqueue as the record's: kept as it is
    upsert_records("default", again)
    assert JobRecord.objects.count() == count
    replaced = JobRecord.objects.get(job_id="u0000")
    assert replaced.pk == before["u0000"].pk
    assert (replaced.name, replaced.args, replaced.kwargs, replaced.enqueue_time) == (
        "tests.jobs.echo", [0], {"k": "v"}, later,
    )  # fmt: skip
    assert (replaced.status, replaced.success, replaced.error, replaced.job_try) == ("queued", None, "", 0)
    assert (replaced.start_time, replaced.finish_time, replaced.worker_id) == (None, None, "")
    assert (replaced.trace_id, replaced.try_errors) == ("", [])
    assert replaced.created_at > before["u0000"].created_at
    for job_id in ("u0001", "u0002"):  # untouched
        kept = JobRecord.objects.get(job_id=job_id)
        assert (kept.name, kept.status, kept.error, kept.updated_at) == (
            "tests.jobs.add", "complete", "boom", before[job_id].updated_at,
        )  # fmt: skip


def test_rows_of_one_record_in_one_batch_leave_the_latest_enqueue() -> None:
    """The same id twice in a batch (enqueued, forgotten and enqueued again before the writer
    wrote; threads may hand their rows over in either order): the row of the later enqueue is the
    record, the last given of equal ones (PostgreSQL refuses an upsert that reaches a row twice)."""
    later = T0 + dt.timedelta(seconds=1)
    first, second = rows(range(1)), rows(range(1), name="tests.jobs.echo", enqueue_time=later)
    upsert_records("default", [*second, *first])
    assert JobRecord.objects.values_list("name", "enqueue_time").get() == ("tests.jobs.echo", later)
    third = rows(range(1), name="tests.jobs.third", enqueue_time=later + dt.timedelta(seconds=1))
    upsert_records("default", [*second, *third, *rows(range(1, 2)), *first])
    assert JobRecord.objects.get(job_id="u0000").name == "tests.jobs.third"
    assert JobRecord.objects.count() == 2
    again = rows(range(2, 3), name="first given"), rows(range(2, 3), name="last given")
    upsert_records("default", [*again[0], *again[1]])
    assert JobRecord.objects.get(job_id="u0002").name == "last given"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.parametrize("count", [3, 3 * COPY_MIN_ROWS], ids=["statement", "copy"])
def test_an_insert_meeting_records_of_the_same_enqueue_takes_no_lock_on_them(count: int) -> None:
    """A worker holds the lock of a record its update is writing; the enqueue side's insert of the
    same enqueue's row (written first by the worker) goes on, as an insert that meets an existing
    record takes no lock on it: the two cannot wait for each other."""
    upsert_records("default", rows(range(count)))
    failures: list[BaseException] = []

    def enqueue_side() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SET lock_timeout = '5s'")  # a wait for the lock fails the test
            upsert_records("default", rows(range(count + 1)))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    with transaction.atomic():
        locked = JobRecord.objects.select_for_update().filter(job_id__in=["u0000", "u0001"])
        assert len(list(locked)) == 2
        thread = threading.Thread(target=enqueue_side)
        thread.start()
        thread.join(30)
    assert not thread.is_alive() and not failures, failures
    assert JobRecord.objects.count() == count + 1


@pytest.mark.parametrize("count", [3, 3 * COPY_MIN_ROWS], ids=["statement", "copy"])
def test_new_records_cost_one_statement_and_records_of_the_same_enqueue_one_read(count: int) -> None:
    with CaptureQueriesContext(connection) as queries:
        upsert_records("default", rows(range(count)))
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if s.startswith("SELECT")]
    if count < COPY_MIN_ROWS or connection.vendor != "postgresql":  # COPY goes uncaptured
        assert len(sql) == 1
    with CaptureQueriesContext(connection) as queries:  # written first by a worker, say
        upsert_records("default", rows(range(count)))
    sql = [q["sql"] for q in queries.captured_queries]
    assert len([s for s in sql if s.startswith("SELECT")]) == 1
    assert not [s for s in sql if "DO UPDATE" in s]
    assert "ORDER BY" not in next(s for s in sql if s.startswith("SELECT"))


def test_only_records_of_the_rows_alias_are_replaced() -> None:
    """The same job id in two aliases (two Redis servers): each row replaces its alias's record."""
    later = T0 + dt.timedelta(days=1)
    upsert_records("default", [*rows(range(2), alias="other"), *rows(range(2))])
    upsert_records("default", [*rows(range(1), alias="other", enqueue_time=later), *rows(range(2), name="n")])
    stored = {(a, j): t for a, j, t in JobRecord.objects.values_list("alias", "job_id", "enqueue_time")}
    assert stored == {
        ("other", "u0000"): later,
        ("other", "u0001"): T0,
        ("default", "u0000"): T0,
        ("default", "u0001"): T0,
    }


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's limit of parameters per statement")
def test_a_batch_over_the_parameter_limit_replaces_a_record_of_an_earlier_enqueue() -> None:
    """The records met are read in pieces, as the rows are inserted: one query of all the batch's
    job ids would pass the limit (the writer may hand over that many after an outage)."""
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    try:
        upsert_records("default", rows(range(1)))
        upsert_records("default", rows(range(1500), enqueue_time=T0 + dt.timedelta(days=1)))
    finally:
        connection.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    assert JobRecord.objects.get(job_id="u0000").enqueue_time == T0 + dt.timedelta(days=1)
    assert JobRecord.objects.count() == 1500


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_a_replacing_insert_holds_no_lock_while_it_waits_for_another() -> None:
    """A worker holds the lock of a record (its update is writing it) that the enqueue side's insert
    replaces, with others: while the insert waits for it, the records it replaced first are free,
    so the worker, taking them next, does not wait for the insert in turn (a deadlock)."""
    upsert_records("default", rows(range(3)))
    failures: list[BaseException] = []

    def enqueue_side() -> None:
        try:
            upsert_records("default", rows(range(3), name="again", enqueue_time=T0 + dt.timedelta(days=1)))
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    waiting = (
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database() AND pid <> pg_backend_pid()"
    )

    def lock_waits() -> int:
        with connection.cursor() as cursor:
            # a transaction reads pg_stat_activity as it was at its first read, unless cleared
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(waiting)
            return int(cursor.fetchone()[0])

    thread = threading.Thread(target=enqueue_side)
    with transaction.atomic():
        assert list(JobRecord.objects.select_for_update().filter(job_id="u0002"))
        assert lock_waits() == 0  # nothing waits yet
        thread.start()
        wait_for(lock_waits)  # the insert waits for u0002
        with connection.cursor() as cursor:  # raises if the insert still held u0000's lock
            cursor.execute(
                "SELECT id FROM django_arq_jobrecord WHERE job_id = %s FOR UPDATE NOWAIT", ["u0000"]
            )
    thread.join(30)
    assert not thread.is_alive() and not failures, failures
    assert set(JobRecord.objects.values_list("name", flat=True)) == {"again"}
