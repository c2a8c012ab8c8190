"""The record writer's bound on waiting records: up to ``max_pending`` kept, one hand-over never split.

The writers here wait an hour between writes, so nothing is written until ``flush()`` wakes them:
what is kept or dropped depends only on the order of the ``add`` calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from django_arq.audit.writer import RecordWriter
from django_arq.models import JobRecord
from django_arq.queues.jobs import JobMetadata
from tests.audit.handovers import jobs

pytestmark = pytest.mark.django_db(transaction=True)

MakeWriter = Callable[..., RecordWriter]


@pytest.fixture
def make_writer() -> Iterator[MakeWriter]:
    made: list[RecordWriter] = []

    def make(max_pending: int) -> RecordWriter:
        writer = RecordWriter(interval=3600, max_pending=max_pending)
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.stop(10)


def recorded(handed: list[list[JobMetadata]]) -> list[bool]:
    """For each hand-over, whether its records were written (all of them, or none)."""
    found = set(JobRecord.objects.values_list("job_id", flat=True))
    states = []
    for batch in handed:
        written = {job.id in found for job in batch}
        assert len(written) == 1, "a hand-over was written in part"
        states.append(written.pop())
    return states


@pytest.mark.parametrize("sizes", [[2, 2, 2], [6], [1, 1, 1, 1, 1, 1], [5, 1]])
def test_exactly_max_pending_waiting_records_are_all_kept(
    make_writer: MakeWriter, sizes: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    writer = make_writer(max_pending=6)
    handed = [jobs(n) for n in sizes]
    for batch in handed:
        writer.add("default", batch)
    assert writer.flush(30)
    assert recorded(handed) == [True] * len(sizes)
    assert "dropped" not in caplog.text


def test_one_record_more_drops_the_oldest_hand_over_only(
    make_writer: MakeWriter, caplog: pytest.LogCaptureFixture
) -> None:
    writer = make_writer(max_pending=6)
    handed = [jobs(2), jobs(2), jobs(2), jobs(1)]
    for batch in handed:
        writer.add("default", batch)
    assert writer.flush(30)
    assert recorded(handed) == [False, True, True, True]
    assert "dropped 2 job record(s)" in caplog.text


def test_a_single_add_larger_than_max_pending_is_kept(make_writer: MakeWriter) -> None:
    writer = make_writer(max_pending=3)
    (batch,) = handed = [jobs(5)]
    writer.add("default", batch)
    assert writer.flush(30)
    assert recorded(handed) == [True]
    assert JobRecord.objects.count() == 5


def test_a_large_add_after_others_drops_them_and_is_kept_whole(make_writer: MakeWriter) -> None:
    writer = make_writer(max_pending=3)
    handed = [jobs(1), jobs(2), jobs(5)]
    for batch in handed:
        writer.add("default", batch)
    assert writer.flush(30)
    assert recorded(handed) == [False, False, True]
