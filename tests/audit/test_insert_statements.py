"""upsert_records' statements: records written in key order whoever calls, a batch over the
parameter limit split, no savepoint of its own in the caller's transaction, and existing records
updated only in the fields named (and ``updated_at``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_arq.audit import inserts
from django_arq.audit.inserts import COPY_MIN_ROWS, upsert_records
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def rows(count: int, **fields: object) -> list[dict[str, object]]:
    """Two aliases, job ids that sort otherwise than (alias, job id) does."""
    base = {"name": "n", "enqueue_time": T0, "queue_name": "q", **fields}
    return [{"alias": "ab"[i % 2], "job_id": f"s{count - i:03d}", **base} for i in range(count)]


def key_order(batch: list[dict[str, object]]) -> list[tuple[object, object]]:
    return sorted((row["alias"], row["job_id"]) for row in batch)


@pytest.mark.parametrize("count", [5, COPY_MIN_ROWS])  # statements; COPY straight or staged on PostgreSQL
@pytest.mark.parametrize("update", [(), ("status",)])
def test_records_are_written_in_key_order(count: int, update: tuple[str, ...]) -> None:
    batch = rows(count)
    upsert_records("default", batch, update=update)
    assert list(JobRecord.objects.order_by("pk").values_list("alias", "job_id")) == key_order(batch)


@pytest.mark.parametrize(("per_statement", "statements"), [(2, 3), (1, 5)])
def test_a_batch_over_the_parameter_limit_takes_several_statements(
    per_statement: int, statements: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows per statement: as many as the limit allows, and one where it allows less than a row."""
    width = len(inserts._columns("default"))
    monkeypatch.setattr(inserts, "MAX_PARAMS", 2 * width + 1 if per_statement == 2 else width - 1)
    batch = rows(5)
    with CaptureQueriesContext(connection) as queries:
        upsert_records("default", batch)
    assert sum(q["sql"].startswith("INSERT") for q in queries.captured_queries) == statements
    assert list(JobRecord.objects.order_by("pk").values_list("alias", "job_id")) == key_order(batch)


def test_a_batch_in_one_statement_is_sent_alone() -> None:
    """No transaction of its own around a single statement (SQLite's would show as a BEGIN)."""
    with CaptureQueriesContext(connection) as queries:
        upsert_records("default", rows(3))
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert JobRecord.objects.count() == 3


@pytest.mark.parametrize("path", ["statements", "staged"])
def test_no_savepoint_of_its_own_in_the_caller_s_transaction(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "statements":  # several, one row each
        monkeypatch.setattr(inserts, "MAX_PARAMS", len(inserts._columns("default")))
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        upsert_records("default", rows(COPY_MIN_ROWS if path == "staged" else 3), update=["status"])
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum("INSERT INTO" in s for s in sql) == (3 if path == "statements" else 1)
    assert not [s for s in sql if "SAVEPOINT" in s.upper()]


@pytest.mark.parametrize("count", [1, COPY_MIN_ROWS])
def test_existing_records_change_only_in_the_fields_named_and_updated_at(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    t1, t2, t3 = (T0 + dt.timedelta(hours=h) for h in (1, 2, 3))
    monkeypatch.setattr(timezone, "now", lambda: t1)
    upsert_records("default", rows(count, status="started"))
    monkeypatch.setattr(timezone, "now", lambda: t2)
    upsert_records("default", rows(count, status="complete", error="e"))  # none named: left whole
    fields = ("status", "error", "created_at", "updated_at")
    assert set(JobRecord.objects.values_list(*fields)) == {("started", "", t1, t1)}
    monkeypatch.setattr(timezone, "now", lambda: t3)
    upsert_records("default", rows(count, status="complete", error="e"), update=["status"])
    assert set(JobRecord.objects.values_list(*fields)) == {("complete", "", t1, t3)}
    assert JobRecord.objects.count() == count


def test_a_staged_write_goes_through_the_records_own_temporary_table() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    upsert_records("default", rows(COPY_MIN_ROWS), update=["status"])
    stage = f"{JobRecord._meta.db_table}_stage"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)::text, to_regclass('pg_temp.none')", [f"pg_temp.{stage}"])
        assert cursor.fetchone() == (stage, None)
    assert JobRecord.objects.count() == COPY_MIN_ROWS


@pytest.mark.parametrize("update", [(), ("status",)])
def test_staged_writes_in_one_transaction_each_write_only_their_own_rows(update: tuple[str, ...]) -> None:
    """On PostgreSQL the staging table empties at commit: a second staged write in the same
    transaction must not write the first one's rows again (records deleted since come back, or
    the same record twice in one upsert)."""

    def batch(prefix: str, status: str) -> list[dict[str, object]]:
        base = {"alias": "default", "name": "n", "enqueue_time": T0, "queue_name": "q", "status": status}
        return [{"job_id": f"{prefix}{i:03d}", **base} for i in range(COPY_MIN_ROWS)]

    first = batch("f", "started")
    second = [*batch("g", "complete"), {**first[0], "status": "complete"}]
    upsert_records("default", first[:1])  # an existing record: staged even without fields to update
    with transaction.atomic():
        upsert_records("default", first, update=update)
        JobRecord.objects.filter(job_id__in=[row["job_id"] for row in first[1:]]).delete()
        upsert_records("default", second, update=update)
    expected = {row["job_id"]: "complete" for row in second} | ({} if update else {"f000": "started"})
    assert dict(JobRecord.objects.values_list("job_id", "status")) == expected
