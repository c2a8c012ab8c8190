"""The record writer with hand-overs meant for several databases in one batch: each written on its
own, what an unavailable database leaves to retry, the rows of a database no longer configured
dropped (logged), and the probe that decides whether a refused row is dropped asked of its own
database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections
from django.test.utils import override_settings

from django_arq.audit import writer as writer_module
from django_arq.audit.writer import RecordWriter
from django_arq.models import JobRecord
from tests.audit.handovers import jobs
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ELSEWHERE = "elsewhere"
RETRY = "could not write 1 job record(s), will retry: "


class ToElsewhere:
    """Routes JobRecord writes to the ``elsewhere`` alias."""

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return ELSEWHERE


class ToGone:
    def db_for_write(self, model: Any, **hints: Any) -> str:
        return "gone"


def routed_to(router: type) -> Any:
    return override_settings(DATABASE_ROUTERS=[f"{__name__}.{router.__name__}"])


def written_ids() -> set[str]:
    return set(JobRecord.objects.values_list("job_id", flat=True))


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "django_arq.records"]


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[str]:
    """An alias whose database cannot be opened: a SQLite file in a missing directory, a
    PostgreSQL database that does not exist."""
    real = connection.settings_dict
    name = (
        str(tmp_path / "missing" / "db.sqlite3")
        if connection.vendor == "sqlite"
        else f"{real['NAME']}_missing"
    )
    connections.settings[ELSEWHERE] = {**real, "NAME": name}
    try:
        yield ELSEWHERE
    finally:
        del connections.settings[ELSEWHERE]


@pytest.fixture
def writer() -> Iterator[RecordWriter]:
    """A writer that writes only when flushed; ended with its writes made to succeed."""
    made = RecordWriter(interval=3600)
    yield made
    made._write = lambda batch: None  # type: ignore[method-assign]
    made.stop(10)


def test_an_unavailable_database_leaves_its_rows_to_retry_the_one_written_before_it_kept(
    elsewhere: str, writer: RecordWriter, caplog: pytest.LogCaptureFixture
) -> None:
    here, there = jobs(2), jobs(1)
    writer.add("default", here)
    with routed_to(ToElsewhere):
        writer.add("default", there)
    assert writer.flush(0.2) is False  # the second database cannot take its row
    wait_for(lambda: any(m.startswith(RETRY) for m in messages(caplog)))
    (logged,) = messages(caplog)
    assert "database" in logged.removeprefix(RETRY)  # the database's own error, not None
    assert written_ids() == {job.id for job in here}
    with writer._cond:
        assert [(h.using, h.alias, h.jobs) for h in writer._pending] == [(elsewhere, "default", there)]
        assert (writer._added, writer._written) == (3, 2)


def test_the_databases_after_an_unavailable_one_wait_for_its_retry(
    elsewhere: str, writer: RecordWriter, caplog: pytest.LogCaptureFixture
) -> None:
    there, here = jobs(1), jobs(2)
    with routed_to(ToElsewhere):
        writer.add("default", there)
    writer.add("default", here)
    assert writer.flush(0.2) is False
    wait_for(lambda: any(m.startswith("could not write") for m in messages(caplog)))
    assert messages(caplog)[0].startswith("could not write 3 job record(s), will retry: ")
    assert written_ids() == set()
    with writer._cond:
        assert [(h.using, h.jobs) for h in writer._pending] == [(elsewhere, there), ("default", here)]
        assert (writer._added, writer._written) == (3, 0)


@pytest.mark.parametrize("configured_at_hand_over", [True, False])
def test_rows_of_a_database_changed_since_are_dropped_and_the_others_of_the_batch_written(
    writer: RecordWriter, configured_at_hand_over: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The alias the rows were handed over for is gone at the write, or was not configured yet."""
    gone_name = f"{connection.settings_dict['NAME']}-gone"
    lost, kept = jobs(1), jobs(2)
    try:
        if configured_at_hand_over:
            connections.settings["gone"] = {**connection.settings_dict, "NAME": gone_name}
        with routed_to(ToGone):
            writer.add("default", lost)
        if configured_at_hand_over:
            del connections.settings["gone"]
        else:
            connections.settings["gone"] = {**connection.settings_dict, "NAME": gone_name}
        writer.add("default", kept)
        assert writer.flush(10)
    finally:
        connections.settings.pop("gone", None)
    assert written_ids() == {job.id for job in kept}
    name = repr(gone_name) if configured_at_hand_over else "None"
    assert messages(caplog) == [
        f"dropped 1 job record(s) meant for database 'gone' (NAME {name}): it is not configured now "
        "(a test database that was dropped, or a router naming an alias DATABASES lacks)"
    ]


def test_rows_routed_to_an_alias_never_configured_are_dropped_not_retried_before_the_others(
    writer: RecordWriter, caplog: pytest.LogCaptureFixture
) -> None:
    """A router naming an alias that DATABASES lacks: its rows can never be written, so they are
    dropped (logged) and the rows of the batch meant for other databases are written."""
    lost, kept = jobs(1), jobs(2)
    with routed_to(ToGone):
        writer.add("default", lost)
    writer.add("default", kept)
    assert writer.flush(10)
    assert written_ids() == {job.id for job in kept}
    assert messages(caplog) == [
        "dropped 1 job record(s) meant for database 'gone' (NAME None): it is not configured now "
        "(a test database that was dropped, or a router naming an alias DATABASES lacks)"
    ]
    with writer._cond:
        assert writer._pending == []


def test_a_refused_row_is_kept_for_a_retry_when_its_own_database_fails_the_probe(
    elsewhere: str, writer: RecordWriter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The rows refused one by one are dropped only if their database answers the probe; the
    probe is of that database, not of the default one (which answers)."""
    real = writer_module.upsert_records

    def upsert(using: str, rows: Any) -> None:
        if using == elsewhere:
            raise IntegrityError("refused")  # not the database's unavailability: the row's fault
        real(using, rows)

    monkeypatch.setattr(writer_module, "upsert_records", upsert)
    with routed_to(ToElsewhere):
        writer.add("default", jobs(1))
    assert writer.flush(0.2) is False
    wait_for(lambda: messages(caplog))
    assert messages(caplog) == [f"{RETRY}refused"]
    with writer._cond:
        assert [h.using for h in writer._pending] == [elsewhere]
