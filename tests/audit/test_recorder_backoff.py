"""The recorder's failed writes: each one in a row doubles the wait before the next try, a write
that succeeds starts over from the flush interval, and the log says why the write failed; what
arrives during a failed write joins the batch retried."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import Any

import pytest
from django.db import OperationalError

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord
from tests.audit.recorders import made_from_echo, start_echo

pytestmark = pytest.mark.django_db(transaction=True)


class Switch:
    """Replaces a recorder's write: it fails as a database that is down while ``down`` is set
    (once ``released``, if the test clears that to hold the write)."""

    def __init__(self, recorder: JobRecorder) -> None:
        self.write, self.down = recorder._write, True
        recorder._write = self  # type: ignore[method-assign]

        self.entered, self.released = threading.Event(), threading.Event()
        self.released.set()  # a failure at once, unless the test holds it

    def __call__(self, batch: Any) -> None:
        if self.down:
            self.entered.set()
            assert self.released.wait(60), "the test never released the write"
            raise OperationalError("server closed the connection unexpectedly")
        self.write(batch)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    messages = [r.getMessage() for r in caplog.records if r.name == "django_arq.recorder"]
    caplog.clear()
    return messages


async def test_the_wait_doubles_with_each_failure_and_starts_over_after_a_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = JobRecorder("default", "q", flush_interval=1)
    switch = Switch(recorder)
    try:
        caplog.set_level(logging.WARNING, logger="django_arq.recorder")
        start_echo(recorder, uuid.uuid4().hex, 1)
        waits = []
        for _ in range(2):
            assert await recorder.flush() is False
            waits += warnings_of(caplog)
        assert waits == [
            "could not write 1 job record(s), retrying in 2.0s: server closed the connection unexpectedly",
            "could not write 1 job record(s), retrying in 4.0s: server closed the connection unexpectedly",
        ]
        switch.down = False
        assert await recorder.flush() is True
        switch.down = True
        start_echo(recorder, uuid.uuid4().hex, 1)
        assert await recorder.flush() is False
        assert warnings_of(caplog) == [
            "could not write 1 job record(s), retrying in 2.0s: server closed the connection unexpectedly"
        ]
    finally:
        switch.down = False
        await recorder.close()


async def test_a_record_is_created_from_an_event_that_came_during_a_failed_write(
    recorder: JobRecorder,
) -> None:
    """The failed batch knew nothing to create the record from (a job put back before it began);
    its next try's start, which arrived during the write, does."""
    job = uuid.uuid4().hex
    recorder.job_ended(job, finished=False, deferred=False)
    switch = Switch(recorder)
    switch.released.clear()
    flushing = asyncio.create_task(recorder.flush())
    assert await asyncio.to_thread(switch.entered.wait, 60), "the write never started"
    start_echo(recorder, job, 2)
    switch.released.set()
    assert await flushing is False
    switch.down = False
    assert await recorder.flush() is True
    record = await JobRecord.objects.aget(job_id=job)
    assert made_from_echo(record)
    assert (record.status, record.job_try) == ("in_progress", 2)
