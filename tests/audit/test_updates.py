"""update_records on its own: each status field set alone leaves the others as they were, JSON
and times are stored as the ORM would store them, and the missing records are named, in the bulk
statement and record by record."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_arq.audit.payloads import JsonText
from django_arq.audit.updates import STATUS_FIELDS, TryOf, update_records
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=1)
PLUS_TWO = dt.timezone(dt.timedelta(hours=2))

BEFORE: dict[str, Any] = {
    "status": "in_progress",
    "start_time": T0,
    "job_try": 1,
    "finish_time": T0 + dt.timedelta(seconds=1),
    "success": False,
    "result": {"old": 1},
    "error": "old error",
    "progress": {"done": 1},
    "worker_id": "w-old",
    "try_errors": [{"try": 0}],
    "next_try_at": T0 + dt.timedelta(seconds=2),
}
#: A new value of each field (as sent, and as read back).
AFTER: dict[str, tuple[Any, Any]] = {
    "status": ("complete", "complete"),
    "start_time": (dt.datetime(2024, 3, 1, 14, tzinfo=PLUS_TWO), dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)),
    "job_try": (4, 4),
    "finish_time": (T0 + dt.timedelta(hours=5), T0 + dt.timedelta(hours=5)),
    "success": (True, True),
    "result": (JsonText('{"new": [1, "x"]}'), {"new": [1, "x"]}),
    "error": ("new error", "new error"),
    "progress": ({"done": 3, "total": 4}, {"done": 3, "total": 4}),
    "worker_id": ("w-new", "w-new"),
    "try_errors": ([{"try": 1, "error": "E"}], [{"try": 1, "error": "E"}]),
    "next_try_at": (None, None),
}


def record(job_id: str, alias: str = "default") -> JobRecord:
    return JobRecord.objects.create(
        job_id=job_id, alias=alias, name="n", enqueue_time=T0, queue_name="q", **BEFORE
    )


def values(job_id: str, alias: str = "default") -> dict[str, Any]:
    rec = JobRecord.objects.get(alias=alias, job_id=job_id)
    return {name: getattr(rec, name) for name in STATUS_FIELDS}


@pytest.fixture(params=["bulk", "record by record"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param != "bulk":
        monkeypatch.setattr(connection, "vendor", "other")
    return str(request.param)


def test_each_field_set_alone_leaves_the_others(way: str) -> None:
    for name in STATUS_FIELDS:
        record(name)
    assert set(AFTER) == set(STATUS_FIELDS)
    updates = {name: {name: AFTER[name][0]} for name in STATUS_FIELDS}
    assert update_records("default", "default", updates, NOW) == set()
    for name in STATUS_FIELDS:
        assert values(name) == {**BEFORE, name: AFTER[name][1]}, name
    assert set(JobRecord.objects.values_list("updated_at", flat=True)) == {NOW}


def test_every_field_at_once_and_json_values_as_sent(way: str) -> None:
    record("all")
    record("plain")
    updates: dict[str, dict[str, Any]] = {
        "all": {name: sent for name, (sent, _) in AFTER.items()},
        "plain": {"result": "text", "progress": JsonText("null"), "try_errors": [], "start_time": None},
    }
    assert update_records("default", "default", updates, NOW) == set()
    assert values("all") == {name: stored for name, (_, stored) in AFTER.items()}
    plain = values("plain")
    assert (plain["result"], plain["progress"], plain["try_errors"], plain["start_time"]) == (
        "text",
        None,
        [],
        None,
    )


def test_the_missing_records_are_named(way: str) -> None:
    record("here")
    record("elsewhere", alias="other")
    updates = {"here": {"status": "complete"}, "elsewhere": {"status": "complete"}, "nowhere": {"job_try": 2}}
    assert update_records("default", "default", updates, NOW) == {"elsewhere", "nowhere"}
    assert values("here")["status"] == "complete"
    assert values("elsewhere", alias="other")["status"] == "in_progress"
    assert not JobRecord.objects.filter(job_id="nowhere").exists()


@pytest.mark.parametrize(
    ("of", "applied"),
    [(TryOf(0, T0), False), (TryOf(1, T0), True), (None, True)],
    ids=["earlier try", "same try", "unknown"],
)
def test_an_update_of_an_earlier_try_only_adds_its_try_errors(
    way: str, of: TryOf | None, applied: bool
) -> None:
    record("late")  # at try 1 (BEFORE), enqueued at T0
    update = {"status": "queued", "job_try": 0, "error": "late", "try_errors": [{"try": 0, "error": "E"}]}
    assert update_records("default", "default", {"late": update}, NOW, {"late": of} if of else {}) == set()
    stored = values("late")
    assert stored["try_errors"] == [{"try": 0, "error": "E"}]
    kept = {name: BEFORE[name] for name in ("status", "job_try", "error")}
    assert {name: stored[name] for name in kept} == ({k: update[k] for k in kept} if applied else kept)


@pytest.mark.parametrize("enqueued", [NOW, T0 - dt.timedelta(days=1)], ids=["later", "earlier"])
def test_an_update_of_another_enqueue_of_the_job_id_leaves_its_record_missing(
    way: str, enqueued: dt.datetime
) -> None:
    """The record is of an earlier enqueue of the id (arq forgot that job), which the caller
    replaces, or of a later one, which an update of the earlier job, come late, leaves as it is."""
    record("again")  # enqueued at T0
    update = {"status": "complete", "job_try": 1, "try_errors": [{"try": 1, "error": "E"}]}
    tries = {"again": TryOf(1, enqueued)}
    assert update_records("default", "default", {"again": update}, NOW, tries) == {"again"}
    assert {name: values("again")[name] for name in ("status", "job_try", "try_errors")} == {
        name: BEFORE[name] for name in ("status", "job_try", "try_errors")
    }


def test_nothing_to_update_reads_nothing() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert update_records("default", "default", {}, NOW) == set()
    assert len(queries) == 0


def statements(count: int) -> int:
    """How many statements update_records sends to update ``count`` records."""
    for i in range(count):
        record(f"many-{i}")
    updates = {f"many-{i}": {"job_try": 2} for i in range(count)}
    with CaptureQueriesContext(connection) as queries:
        assert update_records("default", "default", updates, NOW) == set()
    assert set(JobRecord.objects.values_list("job_try", flat=True)) == {2}
    return len(queries)


def test_the_bulk_way_sends_a_few_statements_whatever_the_batch() -> None:
    assert statements(30) < 10


def test_other_databases_update_record_by_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "vendor", "other")
    assert statements(30) >= 30


@pytest.mark.parametrize(("version", "bulk"), [((3, 33, 0), True), ((3, 32, 3), False)])
def test_sqlite_updates_in_bulk_from_3_33(
    version: tuple[int, ...], bulk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's version")
    monkeypatch.setattr(sqlite3, "sqlite_version_info", version)
    assert (statements(30) < 10) is bulk
