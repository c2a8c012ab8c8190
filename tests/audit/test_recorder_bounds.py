"""While the database is down the recorder keeps the updates of at most ``max_pending`` jobs, the
newest, and says in the log how many it dropped and how to restore them; closing, it retries
for a few seconds, then says how many it could not write."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

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


@pytest.fixture
async def down() -> AsyncIterator[JobRecorder]:
    """A recorder of at most 3 pending jobs whose every write fails."""
    recorder = JobRecorder("default", "q", max_pending=3)

    def failing(batch: object) -> None:
        raise OSError("database down")

    recorder._write = failing  # type: ignore[method-assign]
    yield recorder
    recorder._executor.shutdown()


def start(recorder: JobRecorder, count: int) -> None:
    for i in range(count):
        recorder.job_started(
            {"job_id": f"j{i}", "enqueue_time": T0, "job_try": 1}, "tests.jobs.add", (i,), {}
        )


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_exactly_max_pending_jobs_are_all_kept_silently(
    down: JobRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    start(down, 3)
    assert await down.flush() is False
    assert list(down._pending) == ["j0", "j1", "j2"]
    assert errors(caplog) == []


async def test_one_job_more_drops_the_oldest_and_says_so(
    down: JobRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    start(down, 4)
    assert await down.flush() is False
    assert list(down._pending) == ["j1", "j2", "j3"]
    assert errors(caplog) == [DROPPED.format(1)]


async def test_a_flush_with_nothing_waiting_succeeds_without_writing(down: JobRecorder) -> None:
    assert await down.flush() is True  # the failing write is not even tried


async def test_close_retries_a_database_that_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    recorder = JobRecorder("default", "q", flush_interval=3600)
    write, calls = recorder._write, []

    def down_twice(batch: object) -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise OSError("database down")
        write(batch)  # type: ignore[arg-type]

    recorder._write = down_twice  # type: ignore[method-assign]
    recorder.start()
    start(recorder, 1)
    await recorder.close()
    assert len(calls) == 3
    assert await JobRecord.objects.filter(job_id="j0").aexists()
    assert errors(caplog) == []


async def test_close_gives_up_on_a_database_that_stays_down(
    down: JobRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def failing(batch: object) -> None:
        calls.append(1)
        raise OSError("database down")

    down._write = failing  # type: ignore[method-assign]
    start(down, 2)
    await down.close()  # after a few tries
    assert len(calls) > 1
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
