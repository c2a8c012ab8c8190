"""While the database is down the recorder keeps the updates of at most ``max_pending`` jobs, the
newest, and says in the log how many it dropped and how to restore them; closing, it retries
for a few seconds, then says how many it could not write."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.db import connections

from django_arq.audit.recorder import JobRecorder
from django_arq.models import JobRecord

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DROPPED = (
    "dropped the record updates of {} job(s) waiting for the database; "
    "`manage.py arq_reconcile` restores them from Redis"
)


class Down:
    """Replaces a recorder's write: the first ``times`` calls fail as a database that is down
    (all of them if None), later ones write; ``calls`` counts them."""

    def __init__(self, recorder: JobRecorder, times: int | None = None) -> None:
        self.write, self.times, self.calls = recorder._write, times, 0
        recorder._write = self  # type: ignore[method-assign]

    def __call__(self, batch: Any) -> None:
        self.calls += 1
        if self.times is None or self.calls <= self.times:
            raise OSError("database down")
        self.write(batch)


@pytest.fixture
async def down() -> AsyncIterator[JobRecorder]:
    """A recorder of at most 3 pending jobs whose every write fails."""
    recorder = JobRecorder("default", "q", max_pending=3)
    Down(recorder)
    yield recorder
    recorder._executor.shutdown()


def start(recorder: JobRecorder, count: int) -> None:
    for i in range(count):
        recorder.job_started(
            {"job_id": f"j{i}", "enqueue_time": T0, "job_try": 1}, "tests.jobs.add", (i,), {}
        )


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("jobs", "kept", "logged"),
    [(3, ["j0", "j1", "j2"], []), (4, ["j1", "j2", "j3"], [DROPPED.format(1)])],
    ids=["exactly max_pending: all kept silently", "one more: the oldest dropped, and said so"],
)
async def test_the_newest_max_pending_jobs_are_kept(
    down: JobRecorder, caplog: pytest.LogCaptureFixture, jobs: int, kept: list[str], logged: list[str]
) -> None:
    start(down, jobs)
    assert await down.flush() is False
    assert list(down._pending) == kept
    assert errors(caplog) == logged


async def test_a_flush_with_nothing_waiting_succeeds_without_writing(down: JobRecorder) -> None:
    assert await down.flush() is True  # the failing write is not even tried


async def test_close_retries_a_database_that_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    recorder = JobRecorder("default", "q", flush_interval=3600)
    down = Down(recorder, times=2)
    recorder.start()
    start(recorder, 1)
    await recorder.close()
    assert down.calls == 3
    assert await JobRecord.objects.filter(job_id="j0").aexists()
    assert errors(caplog) == []


async def test_close_gives_up_on_a_database_that_stays_down(caplog: pytest.LogCaptureFixture) -> None:
    recorder = JobRecorder("default", "q")
    down = Down(recorder)
    start(recorder, 2)
    await recorder.close()  # after a few tries
    assert down.calls > 1
    assert errors(caplog) == [
        "2 job record update(s) not written; `manage.py arq_reconcile` restores them from Redis"
    ]


async def test_close_closes_the_connection_of_the_recorders_thread() -> None:
    recorder = JobRecorder("default", "q")
    start(recorder, 1)
    assert await recorder.flush() is True
    loop = asyncio.get_running_loop()
    connection = await loop.run_in_executor(recorder._executor, lambda: connections["default"])
    assert connection.connection is not None  # opened by the write, kept for the next one
    await recorder.close()
    assert connection.connection is None
