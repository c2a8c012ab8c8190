"""The record writer's thread: how long it waits between writes and after failures, what it logs,
and how ``stop`` ends it, with the waits recorded rather than slept and the writes faked."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import IntegrityError, connections

from django_arq.audit import writer as writer_module
from django_arq.audit.writer import IDLE_EXIT, MAX_BACKOFF, Handed, RecordWriter
from django_arq.models import JobRecord
from tests.audit.handovers import HeldWrite, jobs
from tests.helpers import wait_for

THREAD = "django-arq-records"


class RecordedWaits(threading.Condition):
    """A condition whose waits in the writer's thread are recorded and return at once."""

    def __init__(self) -> None:
        super().__init__()
        self.delays: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        if threading.current_thread().name != THREAD:
            return super().wait(timeout)
        self.delays.append(timeout)
        super().wait(0.001)
        return False


def fail_then_succeed(writer: RecordWriter, failures: int, error: Exception) -> list[list[Handed]]:
    """Make ``writer``'s first ``failures`` writes raise ``error``; returns the batches it wrote."""
    written: list[list[Handed]] = []
    left = [failures]

    def write(batch: list[Handed]) -> None:
        if left[0]:
            left[0] -= 1
            raise error
        written.append(batch)

    writer._write = write  # type: ignore[method-assign]
    return written


def test_the_default_writer_waits_only_milliseconds_for_more_records(writers: list[RecordWriter]) -> None:
    writer = RecordWriter()
    writers.append(writer)
    writer._cond = waits = RecordedWaits()
    written = fail_then_succeed(writer, 0, OSError())
    writer.add("default", jobs(1))
    assert writer.flush(5)
    assert written
    assert waits.delays[0] is not None and 0 < waits.delays[0] <= 0.05


def test_failed_writes_back_off_doubling_up_to_the_maximum_then_the_interval_again(
    writers: list[RecordWriter], caplog: pytest.LogCaptureFixture
) -> None:
    writer = RecordWriter(interval=1.0)
    writers.append(writer)
    writer._cond = waits = RecordedWaits()
    written = fail_then_succeed(writer, 7, OSError("database down"))
    handed = jobs(3)
    writer.add("default", handed)  # no flush: it would cut the first wait short
    wait_for(lambda: len(waits.delays) >= 9)
    assert [[h.jobs for h in batch] for batch in written] == [[handed]]
    assert waits.delays[:9] == [1.0, 2.0, 4.0, 8.0, 16.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, 1.0]
    warnings = [r.getMessage() for r in caplog.records if r.name == "django_arq.records"]
    assert warnings == ["could not write 3 job record(s), will retry: database down"] * 7


def test_a_failed_write_of_part_of_a_batch_keeps_only_the_rest_waiting(writers: list[RecordWriter]) -> None:
    """A database that fails after another was written: flush waits for the rest only, and the
    rest is written next, first."""
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    first, second, third = jobs(2), jobs(3), jobs(1)
    written: list[list[Handed]] = []

    def write(batch: list[Handed]) -> None:
        if len(written) == 0 and len(batch) == 2:
            written.append([])
            raise writer_module._Retry(batch[1:], OSError("second database down"))
        written.append(batch)

    writer._write = write  # type: ignore[method-assign]
    writer.add("default", first)
    writer.add("default", second)
    assert writer.flush(0.5) is False  # the second waits out its back-off
    with writer._cond:
        assert writer._written == 2
        assert [h.jobs for h in writer._pending] == [second]
    assert writer.flush(5)  # woken again
    writer.add("default", third)
    assert writer.flush(5)
    assert [[h.jobs for h in batch] for batch in written[1:]] == [[second], [third]]
    assert writer._written == writer._added == 6


def test_stop_gives_up_after_its_timeout_while_the_database_is_down(writers: list[RecordWriter]) -> None:
    writer = RecordWriter(interval=0.01)
    writers.append(writer)
    fail_then_succeed(writer, 10**9, OSError("database down"))
    writer.add("default", jobs(1))
    started = time.monotonic()
    writer.stop(0.3)
    assert time.monotonic() - started < 3
    assert writer._thread is not None and writer._thread.is_alive()  # still retrying


def test_stop_ends_the_thread_at_once(writers: list[RecordWriter]) -> None:
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    fail_then_succeed(writer, 0, OSError())
    writer.add("default", jobs(1))
    thread = writer._thread
    assert thread is not None
    writer.stop(1)
    assert not thread.is_alive()
    assert writer._thread is None and writer._stopping is False


def test_stop_during_a_write_ends_the_thread_when_the_write_is_done(writers: list[RecordWriter]) -> None:
    """``stop`` wakes the thread even though it was writing, not waiting, when stop asked."""
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    writing, release = threading.Event(), threading.Event()

    def write(batch: list[Handed]) -> None:
        writing.set()
        release.wait(10)

    writer._write = write  # type: ignore[method-assign]
    writer.add("default", jobs(1))
    thread = writer._thread
    assert thread is not None
    assert writer.flush(0.01) is False  # wakes the thread, which starts writing
    assert writing.wait(5)
    writer.stop(0.05)  # times out: the write goes on
    assert thread.is_alive()
    release.set()
    thread.join(5)
    assert not thread.is_alive()
    assert writer._written == 1


def test_a_stopped_writer_starts_a_new_thread_on_the_next_add(writers: list[RecordWriter]) -> None:
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    written = fail_then_succeed(writer, 0, OSError())
    writer.add("default", jobs(1))
    writer.stop(5)
    writer.add("default", jobs(2))
    assert writer._thread is not None and writer._thread.is_alive()
    assert writer.flush(5)
    assert [len(batch[0].jobs) for batch in written] == [1, 2]


def thread_after_one_write(writers: list[RecordWriter], interval: float) -> threading.Thread:
    """The thread of a new writer that has written one (faked) record."""
    writer = RecordWriter(interval=interval)
    writers.append(writer)
    fail_then_succeed(writer, 0, OSError())
    writer.add("default", jobs(1))
    assert writer.flush(5)
    assert writer._thread is not None
    return writer._thread


def test_after_a_write_the_thread_waits_for_more_records(writers: list[RecordWriter]) -> None:
    thread = thread_after_one_write(writers, interval=3600)
    thread.join(0.2)
    assert thread.is_alive()


def test_an_idle_thread_ends_after_idle_exit_seconds_without_records(writers: list[RecordWriter]) -> None:
    thread = thread_after_one_write(writers, interval=0.01)
    written = time.monotonic()
    thread.join(IDLE_EXIT + 10)
    assert not thread.is_alive()
    assert IDLE_EXIT / 2 < time.monotonic() - written < IDLE_EXIT + 10
    assert writers[0]._thread is None


@pytest.mark.django_db(transaction=True)
def test_the_threads_connection_is_kept_from_one_write_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[object] = []
    real = writer_module.upsert_records

    def upsert(using: str, rows: Any) -> None:
        real(using, rows)
        used.append(connections[using].connection)

    monkeypatch.setattr(writer_module, "upsert_records", upsert)
    writer = RecordWriter(interval=3600)
    try:
        for _ in range(3):
            writer.add("default", jobs(1))
            assert writer.flush(10)
    finally:
        writer.stop(10)
    assert len(used) == 3 and used[0] is not None
    assert used[1] is used[0] and used[2] is used[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("refused_text", "stored", "logged"),
    [
        ("\u00e9", "tests.jobs.caf\\xe9", "wrote it in a safe form"),
        ("caf", None, "refused it even in a safe form"),
    ],
)
def test_a_row_the_database_refuses_is_written_in_a_safe_form_or_dropped(
    refused_text: str,
    stored: str | None,
    logged: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = writer_module.upsert_records

    def upsert(using: str, rows: Any) -> None:
        if any(refused_text in row["name"] for row in rows):
            raise IntegrityError("not this one")
        real(using, rows)

    monkeypatch.setattr(writer_module, "upsert_records", upsert)
    writer = RecordWriter(interval=3600)
    refused, kept = jobs(1), jobs(2)
    refused[0].name = "tests.jobs.caf\u00e9"
    try:
        writer.add("default", [*kept, *refused])
        assert writer.flush(10)
    finally:
        writer.stop(10)
    names = dict(JobRecord.objects.values_list("job_id", "name"))
    expected = {kept[0].id: "tests.jobs.add", kept[1].id: "tests.jobs.add", refused[0].id: stored}
    assert names == {job_id: name for job_id, name in expected.items() if name is not None}
    assert f"job {refused[0].id!r}" in caplog.text and logged in caplog.text


def test_records_added_during_a_failed_write_are_kept_behind_the_retried_ones(
    writers: list[RecordWriter],
) -> None:
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    writer._write = held = HeldWrite(OSError("database down"))  # type: ignore[method-assign]
    first, meanwhile = jobs(1), jobs(2)
    writer.add("default", first)
    assert writer.flush(0.01) is False
    assert held.writing.wait(5)
    writer.add("default", meanwhile)
    held.release.set()
    assert writer.flush(10)
    assert [[h.jobs for h in batch] for batch in held.written] == [[first, meanwhile]]


@pytest.mark.django_db(transaction=True)
def test_a_job_no_row_can_be_made_of_is_dropped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    first, broken, last = jobs(3)
    broken.status = "queued"  # type: ignore[assignment]  # not a JobStatus: no row can be made of it
    writer = RecordWriter(interval=3600)
    try:
        writer.add("default", [first, broken, last])
        assert writer.flush(10)
    finally:
        writer.stop(10)
    assert sorted(JobRecord.objects.values_list("alias", "job_id", "args")) == sorted(
        [("default", first.id, [0]), ("default", last.id, [2])]
    )
    logged = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "django_arq.records"]
    assert logged == [
        ("ERROR", f"dropped the job record of alias 'default', job {broken.id!r}: no row can be made of it")
    ]
