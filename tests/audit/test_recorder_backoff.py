"""The recorder's failed writes: each one in a row doubles the wait before the next try, a write
that succeeds starts over from the flush interval, and the log says why the write failed."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from django.db import OperationalError

from django_arq.audit.recorder import JobRecorder
from tests.audit.recorders import start_echo

pytestmark = pytest.mark.django_db(transaction=True)


class Switch:
    """Replaces a recorder's write: it fails as a database that is down while ``down`` is set."""

    def __init__(self, recorder: JobRecorder) -> None:
        self.write, self.down = recorder._write, True
        recorder._write = self  # type: ignore[method-assign]

    def __call__(self, batch: Any) -> None:
        if self.down:
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
