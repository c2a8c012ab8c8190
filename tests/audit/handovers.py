"""Jobs to hand to a record writer, writers ended after the test, and a faked write held by the test."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator

import pytest

from django_arq.audit.writer import Handed, RecordWriter
from django_arq.queues.jobs import JobMetadata, JobStatus

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def jobs(count: int) -> list[JobMetadata]:
    """``count`` freshly enqueued jobs, each with its own id."""
    return [
        JobMetadata(uuid.uuid4().hex, "tests.jobs.add", (i,), {}, NOW, JobStatus.queued, "q")
        for i in range(count)
    ]


@pytest.fixture
def writers() -> Iterator[list[RecordWriter]]:
    """Writers to end after the test: their writes made to succeed, then stopped."""
    made: list[RecordWriter] = []
    yield made
    for writer in made:
        writer._write = lambda batch: None  # type: ignore[method-assign]
        writer.stop(5)


class HeldWrite:
    """A writer's faked ``_write`` whose first call sets ``writing`` and waits for ``release``, then
    raises ``error`` if one is given; ``written`` holds the batches it wrote."""

    def __init__(self, error: Exception | None = None) -> None:
        self.writing, self.release = threading.Event(), threading.Event()
        self.written: list[list[Handed]] = []
        self.error = error
        self.calls = 0

    def __call__(self, batch: list[Handed]) -> None:
        self.calls += 1
        if self.calls == 1:
            self.writing.set()
            self.release.wait(10)
            if self.error is not None:
                raise self.error
        self.written.append(batch)
