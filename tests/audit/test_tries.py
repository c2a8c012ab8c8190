"""The tries module on its own: a try's short error and entry, when a retry runs, entries merged
by try, and the status line of each kind of record."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from arq.worker import Retry
from django.test.utils import override_settings
from django.utils import timezone

from django_arq.audit.tries import (
    ERROR_LENGTH,
    merged_try_errors,
    next_try_at,
    short_error,
    tries_json,
    try_error,
    try_status,
)

T0 = datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
CANCELLED = "cancelled (the worker stopped): run again"


class Outer:
    class Failure(Exception):
        pass


class BrokenMessage(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


def caused(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


def test_short_error_names_the_class_and_message_on_one_line() -> None:
    assert short_error(ValueError("bad\n  value\tthere")) == "ValueError: bad value there"
    assert short_error(KeyError()) == "KeyError"
    assert short_error(Outer.Failure("x")) == f"{__name__}.Outer.Failure: x"
    assert short_error(BrokenMessage()) == f"{__name__}.BrokenMessage: <message not readable>"


def test_short_error_of_a_retry_is_its_cause() -> None:
    assert short_error(caused(Retry(defer=5), OSError("down"))) == "OSError: down"
    assert short_error(Retry(defer=5)) == "arq.worker.Retry: <Retry defer 5.00s>"
    assert short_error(caused(ValueError("outer"), OSError("inner"))) == "ValueError: outer"


def test_short_error_of_a_text_or_a_cancelled_try() -> None:
    assert short_error("worker  w\nlost") == "worker w lost"
    assert short_error("") == ""
    assert short_error(None) == CANCELLED
    assert short_error(asyncio.CancelledError("shutdown")) == CANCELLED
    assert short_error(caused(Retry(), asyncio.CancelledError())) == CANCELLED


def test_short_error_is_cut_to_its_length() -> None:
    assert short_error("x" * ERROR_LENGTH) == "x" * ERROR_LENGTH
    cut = short_error(ValueError("y" * 400))
    assert len(cut) == ERROR_LENGTH == 300 and cut.startswith("ValueError: yyy") and cut.endswith("…")


def test_a_try_entry() -> None:
    assert try_error(2, OSError("down"), T0) == {
        "try": 2,
        "error": "OSError: down",
        "time": "2020-01-02T03:04:05+00:00",
        "lost": False,
    }
    assert try_error(1, "worker w lost", T0, lost=True)["lost"] is True


def test_next_try_at_is_the_retry_defer_or_now() -> None:
    assert next_try_at(Retry(defer=timedelta(seconds=7)), T0) == T0 + timedelta(seconds=7)
    assert next_try_at(Retry(defer=1.5), T0) == T0 + timedelta(milliseconds=1500)
    assert next_try_at(Retry(), T0) == T0
    assert next_try_at(ValueError(), T0) == T0
    assert next_try_at(None, T0) == T0


def test_entries_are_merged_one_per_try_in_try_order() -> None:
    stored: list[Any] = [
        {"try": 3, "error": "c"},
        "a note",
        {"try": "1", "error": "text try"},
        {"error": "no try"},
        {"try": 1, "error": "old"},
    ]
    merged = merged_try_errors(stored, [{"try": 1, "error": "new"}, {"try": 2, "error": "b"}])
    assert merged == [{"try": 1, "error": "new"}, {"try": 2, "error": "b"}, {"try": 3, "error": "c"}]
    assert merged[2] is not stored[0]  # copies: the record's own entries are never edited
    assert merged_try_errors({"try": 1}, [{"try": 4}]) == [{"try": 4}]
    assert merged_try_errors(None, ()) == []


def record(**fields: Any) -> SimpleNamespace:
    values = {
        "alias": "default",
        "name": "tests.jobs.add",
        "job_try": 1,
        "status": "queued",
        "next_try_at": None,
        "success": None,
        "try_errors": [],
        **fields,
    }
    return SimpleNamespace(**values)


def test_the_status_line_of_each_kind_of_record() -> None:
    later = timezone.now() + timedelta(days=400)
    at = f"{timezone.localtime(later):%Y-%m-%d %H:%M:%S}"
    assert try_status(record(status="in_progress", job_try=2)) == "running, try 2 of 5"
    assert (
        try_status(record(status="deferred", job_try=2, next_try_at=later))
        == f"retrying, try 3 of 5, next at {at}"
    )
    assert (
        try_status(record(status="queued", job_try=0, next_try_at=later))
        == f"retrying, try 1 of 5, next at {at}"
    )
    assert try_status(record(status="queued", job_try=1)) == "re-queued, try 2 of 5"
    assert try_status(record(status="complete", job_try=3, success=True)) == "succeeded on try 3 of 5"
    assert try_status(record(status="complete", job_try=2, success=False)) == "failed on try 2 of 5"


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "in_progress", "job_try": 1},
        {"status": "in_progress", "job_try": None},
        {"status": "queued", "job_try": 0},
        {"status": "queued", "job_try": None},
        {"status": "deferred", "job_try": 2},
        {"status": "complete", "job_try": 1, "success": False},
        {"status": "complete", "job_try": None, "success": True},
        {"status": "not_found", "job_try": 3, "next_try_at": T0},
        {"status": "in_progress", "job_try": 2, "next_try_at": T0, "_expect": "running, try 2 of 5"},
    ],
)
def test_a_job_on_its_only_try_has_no_status_line(fields: dict[str, Any]) -> None:
    expected = fields.pop("_expect", "")
    assert try_status(record(**fields)) == expected


def test_the_tries_are_the_task_or_alias_settings_or_the_default(settings: Any) -> None:
    worker = {
        "MAX_TRIES": 7,
        "FUNCTIONS": ["tests.jobs.add", {"FUNCTION": "tests.jobs.echo", "MAX_TRIES": 2}],
    }
    queues = {**settings.ARQ_QUEUES, "seven": {**settings.ARQ_QUEUES["default"], "WORKER": worker}}
    with override_settings(ARQ_QUEUES=queues):
        assert try_status(record(alias="seven", status="in_progress", job_try=2)) == "running, try 2 of 7"
        echo = record(alias="seven", name="tests.jobs.echo", status="in_progress", job_try=2)
        assert try_status(echo) == "running, try 2 of 2"
        assert try_status(record(alias="gone", status="in_progress", job_try=2)) == "running, try 2 of 5"


@contextmanager
def process_time_zone(zone: str) -> Iterator[None]:
    """The time zone of ``datetime.now()``, apart from Django's ``TIME_ZONE``."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@override_settings(TIME_ZONE="Pacific/Kiritimati")  # UTC+14
def test_today_is_the_local_day_of_an_aware_time_and_the_process_day_of_a_naive_one() -> None:
    """With the process 26 hours behind Django's time zone, their dates always differ."""
    with process_time_zone("Etc/GMT+12"):  # UTC-12
        aware = timezone.now()
        aware_status = try_status(record(status="deferred", next_try_at=aware))
        aware_today = timezone.localtime().date()
        naive = datetime.now()
        naive_status = try_status(record(status="deferred", next_try_at=naive))
        naive_today = datetime.now().date()
    local = timezone.localtime(aware)
    if aware_today == local.date():  # not across local midnight since
        assert aware_status == f"retrying, try 2 of 5, next at {local:%H:%M:%S}"
    if naive_today == naive.date():
        assert naive_status == f"retrying, try 2 of 5, next at {naive:%H:%M:%S}"


@override_settings(TIME_ZONE="Pacific/Kiritimati")  # UTC+14: its hours are never UTC's
def test_the_next_try_is_told_in_local_time_with_the_date_unless_today() -> None:
    now = timezone.now()
    status = try_status(record(status="deferred", next_try_at=now))
    local = timezone.localtime(now)
    if timezone.localtime().date() == local.date():  # not across local midnight since
        assert status == f"retrying, try 2 of 5, next at {local:%H:%M:%S}"
    elsewhere = datetime(2020, 1, 1, 23, 0, tzinfo=UTC)
    assert try_status(record(status="deferred", next_try_at=elsewhere)).endswith(
        "next at 2020-01-02 13:00:00"
    )
    naive = datetime(2020, 1, 1, 23, 0)
    assert try_status(record(status="deferred", next_try_at=naive)).endswith("next at 2020-01-01 23:00:00")


def test_tries_json_of_a_record_and_of_none() -> None:
    assert tries_json(None) == {"try_status": "", "next_try_at": None, "try_errors": []}
    entries = [{"try": 2, "error": "b"}, "note", {"try": 1, "error": "a"}]
    found = tries_json(record(status="deferred", job_try=2, next_try_at=T0, try_errors=entries))
    assert found == {
        "try_status": "retrying, try 3 of 5, next at 2020-01-02 03:04:05",
        "next_try_at": "2020-01-02T03:04:05+00:00",
        "try_errors": [{"try": 1, "error": "a"}, {"try": 2, "error": "b"}],
    }
    assert tries_json(record(status="queued", job_try=0))["next_try_at"] is None
