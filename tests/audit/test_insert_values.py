"""upsert_records' values row by row: defaults for what a row leaves out, ``updated_at`` always
now, and on SQLite as many rows per statement as the library allows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_arq.audit import inserts
from django_arq.audit.inserts import COPY_MIN_ROWS, upsert_records
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def row(job_id: str, **fields: object) -> dict[str, object]:
    return {
        "alias": "default",
        "job_id": job_id,
        "name": "n",
        "enqueue_time": T0,
        "queue_name": "q",
        **fields,
    }


def test_a_row_without_a_column_other_rows_give_gets_the_default() -> None:
    upsert_records("default", [row("a", status="complete", job_try=3), row("b")])
    b = JobRecord.objects.get(job_id="b")
    assert (b.status, b.job_try) == ("queued", 0)
    a = JobRecord.objects.get(job_id="a")
    assert (a.status, a.job_try) == ("complete", 3)


def test_a_database_that_cannot_name_the_conflict_gets_an_upsert_django_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MySQL and MariaDB upsert on any unique key, and Django refuses ``unique_fields`` there
    (NotSupportedError before any SQL). Faked on SQLite, whose statement is then a plain INSERT:
    new rows only."""
    if connection.vendor != "sqlite":
        pytest.skip("faked on SQLite, whose SQL without a conflict target is a plain INSERT")
    monkeypatch.setattr(connection.features, "supports_update_conflicts_with_target", False)
    upsert_records("default", [row("a", status="complete"), row("b")], update=["status"])
    assert dict(JobRecord.objects.values_list("job_id", "status")) == {"a": "complete", "b": "queued"}


def test_updated_at_is_always_now_whatever_a_row_says() -> None:
    before = timezone.now()
    upsert_records("default", [row("a", updated_at=T0), row("b")])
    for record in JobRecord.objects.all():
        assert record.updated_at >= before


def test_on_sqlite_a_batch_is_one_statement_up_to_the_librarys_limit() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the parameter limit of SQLite's library")
    rows = [row(f"j{i}") for i in range(200)]  # several thousand parameters, more than Django's 999
    with CaptureQueriesContext(connection) as queries:
        upsert_records("default", rows)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert JobRecord.objects.count() == 200


def test_on_postgresql_batches_of_copy_min_rows_or_more_are_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    copied: list[str] = []
    real = inserts._copy

    def copy(cursor: Any, table: str, names: str, values: Any) -> None:
        copied.append(table)
        real(cursor, table, names, values)

    monkeypatch.setattr(inserts, "_copy", copy)
    upsert_records("default", [row(f"a{i}") for i in range(COPY_MIN_ROWS - 1)])
    assert copied == []
    upsert_records("default", [row(f"b{i}") for i in range(COPY_MIN_ROWS)])
    assert copied == [connection.ops.quote_name(JobRecord._meta.db_table)]
    assert JobRecord.objects.count() == 2 * COPY_MIN_ROWS - 1
