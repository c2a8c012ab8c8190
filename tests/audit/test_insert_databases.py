"""upsert_records writes on the database it is given, in that connection's transaction, on every
path: statements, several statements in one transaction, COPY straight or staged, bulk_create."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connections, transaction
from django.test.utils import CaptureQueriesContext

from django_arq.audit import inserts
from django_arq.audit.inserts import COPY_MIN_ROWS, upsert_records
from django_arq.models import JobRecord
from tests.audit.databases import another_database

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
OTHER = "elsewhere"


class Rollback(Exception):
    pass


def rows(count: int, **fields: object) -> list[dict[str, object]]:
    base = {"alias": "default", "name": "n", "enqueue_time": T0, "queue_name": "q", **fields}
    return [{"job_id": f"d{i:03d}", **base} for i in range(count)]


#: (rows, fields to update, whether bulk_create): statements, or on PostgreSQL COPY straight and staged.
PATHS = {
    "few": (1, (), False),
    "few-updated": (1, ("status",), False),
    "many": (COPY_MIN_ROWS, (), False),
    "many-updated": (COPY_MIN_ROWS, ("status",), False),
    "bulk_create": (3, (), True),
}


@pytest.mark.parametrize("path", PATHS)
def test_records_are_written_in_the_transaction_of_the_database_given(
    path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    count, update, bulk = PATHS[path]
    with another_database(OTHER):
        if bulk:
            monkeypatch.setattr(connections[OTHER].features, "supports_update_conflicts_with_target", False)
        with pytest.raises(Rollback), transaction.atomic(using=OTHER):
            upsert_records(OTHER, rows(count, status="complete"), update=update)
            assert JobRecord.objects.using(OTHER).filter(status="complete").count() == count
            raise Rollback
        assert not JobRecord.objects.exists()  # rolled back with that connection's transaction


@pytest.mark.parametrize("update", [(), ("status",)])
def test_a_conflict_leaves_the_transaction_of_the_database_given_usable(update: tuple[str, ...]) -> None:
    """On PostgreSQL the straight COPY meets the existing record and falls back to the staged
    insert: in a savepoint of that connection's transaction, which goes on."""
    n = 2 * COPY_MIN_ROWS
    upsert_records("default", rows(n)[n // 2 : n // 2 + 1])
    with another_database(OTHER), transaction.atomic(using=OTHER):
        upsert_records(OTHER, rows(n, status="complete"), update=update)
        assert JobRecord.objects.using(OTHER).count() == n
        assert JobRecord.objects.using(OTHER).filter(status="complete").count() == (n if update else n - 1)


def test_a_staged_update_outside_a_transaction_reaches_the_table() -> None:
    """The staging table empties at each commit: the staged copy and the insert from it share one
    transaction of the connection given."""
    n = COPY_MIN_ROWS
    upsert_records("default", rows(n))
    with another_database(OTHER):
        upsert_records(OTHER, rows(n, status="complete", job_try=2), update=["status"])
    assert set(JobRecord.objects.values_list("status", "job_try")) == {("complete", 0)}
    assert JobRecord.objects.count() == n


def test_several_statements_share_one_transaction_of_that_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two statements (a limit under one row's parameters: a row each): the second's refused row
    takes the first back too."""
    monkeypatch.setattr(inserts, "MAX_PARAMS", len(inserts._columns("default")) - 1)
    batch = [rows(1)[0], {**rows(2)[1], "name": None}]  # NOT NULL, in the second statement
    with another_database(OTHER):
        with CaptureQueriesContext(connections[OTHER]) as queries, pytest.raises(IntegrityError):
            upsert_records(OTHER, batch)
        assert sum(q["sql"].startswith("INSERT") for q in queries.captured_queries) == 2
    assert not JobRecord.objects.exists()
