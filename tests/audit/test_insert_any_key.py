"""upsert_records on a database whose upsert takes the conflict from any unique key (MySQL's and
MariaDB's ``ON DUPLICATE KEY UPDATE``), through bulk_create: played by SQLite, whose ``ON CONFLICT``
without a target does the same."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.models.constants import OnConflict
from django.utils import timezone

from django_arq.audit.inserts import upsert_records
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def any_key(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("played by SQLite's ON CONFLICT without a target")
    real = connection.ops.on_conflict_suffix_sql

    def on_any_key(fields: Any, on_conflict: Any, update_fields: Any, unique_fields: Any) -> str:
        if on_conflict == OnConflict.UPDATE:
            sets = ", ".join(f"{f} = EXCLUDED.{f}" for f in map(connection.ops.quote_name, update_fields))
            return f"ON CONFLICT DO UPDATE SET {sets}"
        return str(real(fields, on_conflict, update_fields, unique_fields))

    monkeypatch.setattr(connection.features, "supports_update_conflicts_with_target", False)
    monkeypatch.setattr(connection.ops, "on_conflict_suffix_sql", on_any_key)


def row(job_id: str, **fields: object) -> dict[str, object]:
    return {"alias": "default", "job_id": job_id, "name": "n", "enqueue_time": T0, "queue_name": "q"} | fields


def stored() -> dict[str, tuple[object, ...]]:
    return {r.job_id: (r.status, r.error, r.created_at, r.updated_at) for r in JobRecord.objects.all()}


@pytest.mark.usefixtures("any_key")
def test_existing_records_get_the_fields_named_and_updated_at_and_keep_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t1, t2 = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: t1)
    upsert_records("default", [row("a", status="started", error="first")])
    monkeypatch.setattr(timezone, "now", lambda: t2)
    upsert_records("default", [row("a", status="complete", error="second"), row("b")], update=["status"])
    assert stored() == {"a": ("complete", "first", t1, t2), "b": ("queued", "", t2, t2)}


@pytest.mark.usefixtures("any_key")
def test_without_fields_to_update_existing_records_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    t1, t2 = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)
    monkeypatch.setattr(timezone, "now", lambda: t1)
    upsert_records("default", [row("a", status="started")])
    monkeypatch.setattr(timezone, "now", lambda: t2)
    upsert_records("default", [row("a", status="complete"), row("b", error="new")])
    assert stored() == {"a": ("started", "", t1, t1), "b": ("queued", "new", t2, t2)}
