"""The record writer's calls: ``add`` (its one daemon thread), ``flush`` and ``stop`` (their time
limits, the wake-up of a busy thread), ``flush_records``, ``pending`` and ``discard`` (also of a
batch being written), the rows written noted in ``noted``, and the records dropped beyond
``max_pending`` once some were written (counted, logged)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from django_arq.audit import writer as writer_module
from django_arq.audit.writer import RecordWriter, flush_records
from django_arq.models import JobRecord
from tests.audit.handovers import HeldWrite, jobs
from tests.helpers import wait_for


class RecordedTimeouts(threading.Condition):
    """A condition that records the time limit of each ``wait_for``."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        self.timeouts.append(timeout)
        return super().wait_for(predicate, timeout)


@pytest.fixture
def timed() -> tuple[RecordWriter, RecordedTimeouts]:
    """A writer (never started) whose condition records the time limit of each wait."""
    writer = RecordWriter()
    writer._cond = waits = RecordedTimeouts()
    return writer, waits


def test_flush_and_stop_wait_ten_seconds_at_most_by_default(
    timed: tuple[RecordWriter, RecordedTimeouts],
) -> None:
    writer, waits = timed
    assert writer.flush() is True  # nothing handed over: at once
    writer.stop()
    writer.flush(0.25)
    assert waits.timeouts == [10.0, 10.0, 0.25]


def test_flush_records_flushes_the_process_s_writer_with_its_time_limit(
    timed: tuple[RecordWriter, RecordedTimeouts], monkeypatch: pytest.MonkeyPatch
) -> None:
    writer, waits = timed
    monkeypatch.setattr(writer_module, "writer", writer)
    assert flush_records() is True
    assert flush_records(0.25) is True
    assert waits.timeouts == [10.0, 0.25]


@pytest.mark.django_db(transaction=True)
def test_one_daemon_thread_writes_the_records_of_every_add(writers: list[RecordWriter]) -> None:
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    first, second = jobs(1), jobs(2)
    writer.add("default", first)
    thread = writer._thread
    assert thread is not None and thread.is_alive()
    assert thread.daemon and thread.name == "django-arq-records"
    writer.add("other", second)
    assert writer._thread is thread
    assert writer.flush(10)
    assert sorted(JobRecord.objects.values_list("alias", "job_id")) == sorted(
        [("default", first[0].id), ("other", second[0].id), ("other", second[1].id)]
    )
    assert (writer._added, writer._written) == (3, 3)


def test_a_flush_during_a_write_has_the_thread_write_the_next_batch_without_waiting(
    writers: list[RecordWriter],
) -> None:
    """The thread was writing, not waiting, when the flush asked: it does not wait for the interval."""
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    writer._write = held = HeldWrite()  # type: ignore[method-assign]
    first, second = jobs(1), jobs(1)
    writer.add("default", first)
    assert writer.flush(0.01) is False  # wakes the thread, whose write then waits for `release`
    assert held.writing.wait(10)
    writer.add("default", second)
    assert writer.flush(0.01) is False  # asked while the thread writes
    held.release.set()
    wait_for(lambda: len(held.written) == 2)  # no flush waiting: the thread took the batch on its own
    assert [[h.jobs for h in batch] for batch in held.written] == [[first], [second]]


@pytest.mark.django_db(transaction=True)
def test_records_dropped_beyond_max_pending_count_as_written_after_earlier_writes(
    writers: list[RecordWriter], caplog: pytest.LogCaptureFixture
) -> None:
    """Only the records waiting count against ``max_pending``, not those written before."""
    writer = RecordWriter(interval=3600, max_pending=3)
    writers.append(writer)
    earlier, oldest, kept, newest = jobs(2), jobs(1), jobs(1), jobs(2)
    writer.add("default", earlier)
    assert writer.flush(10)
    writer.add("default", oldest)
    writer.add("default", kept)  # 2 waiting: all kept
    writer.add("default", newest)  # 4 waiting, more than 3: the oldest hand-over is dropped
    assert writer.flush(10)
    assert (writer._added, writer._written) == (6, 6)
    assert set(JobRecord.objects.values_list("job_id", flat=True)) == {j.id for j in earlier + kept + newest}
    assert [r.getMessage() for r in caplog.records if r.name == "django_arq.records"] == [
        "dropped 1 job record(s) waiting for the database (more than 3 waited); the worker creates "
        "them when it runs the jobs, `manage.py arq_reconcile` restores the others"
    ]


def test_discard_drops_the_records_waiting_and_flush_then_returns_at_once(
    writers: list[RecordWriter],
) -> None:
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    writer._write = held = HeldWrite()  # type: ignore[method-assign]
    assert (writer.pending(), writer.discard()) == (0, 0)
    writer.add("default", jobs(2))
    writer.add("default", jobs(1))
    assert writer.pending() == 3
    assert writer.discard() == 3
    assert writer.pending() == 0 and writer._pending == []
    assert writer.flush(0.01) is True
    assert held.calls == 0
    later = jobs(1)
    writer.add("default", later)  # records handed over after a discard are written as before
    assert writer.pending() == 1
    held.release.set()
    assert writer.flush(10)
    assert [[h.jobs for h in batch] for batch in held.written] == [[later]]


@pytest.mark.parametrize("error", [None, OSError("database down")], ids=["written", "failed"])
def test_a_batch_being_written_when_discarded_is_neither_counted_again_nor_retried(
    writers: list[RecordWriter], error: Exception | None
) -> None:
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    writer._write = held = HeldWrite(error)  # type: ignore[method-assign]
    writer.add("default", jobs(2))
    assert writer.flush(0.01) is False  # wakes the thread, whose write then waits for `release`
    assert held.writing.wait(10)
    assert writer.discard() == 2
    later = jobs(1)
    writer.add("default", later)
    held.release.set()
    assert writer.flush(10)  # only the later record is waited for, then written
    assert (writer._added, writer._written) == (3, 3)
    assert [[h.jobs for h in batch] for batch in held.written][-1] == [later]
    assert writer._pending == []


@pytest.mark.django_db(transaction=True)
def test_the_rows_written_are_noted_while_noted_is_a_list(writers: list[RecordWriter]) -> None:
    writer = RecordWriter(interval=3600)
    writers.append(writer)
    unnoted, first, second = jobs(1), jobs(2), jobs(1)
    writer.add("default", unnoted)
    assert writer.flush(10)
    writer.noted = noted = []
    writer.add("default", first)
    writer.add("other", second)
    assert writer.flush(10)
    assert sorted(noted) == sorted(
        [("default", "default", j.id) for j in first] + [("default", "other", j.id) for j in second]
    )
    assert JobRecord.objects.count() == 4
