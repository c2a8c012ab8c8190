"""queues/reporting.py: RedisProgress, the store a worker's jobs report to: its settings, and a
lifetime that cannot be set."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
import redis
import redis.asyncio

from django_arq import report_progress
from django_arq.queues.jobs import JobProgress
from django_arq.queues.progress import progress_key
from django_arq.queues.reporting import RedisProgress
from tests.core.test_progress_reports import Counting, counting, job_ctx

__all__ = ["counting"]  # the fixture


async def test_its_interval_and_mirror_are_the_ones_given(
    counting: Counting, redis_client: redis.Redis
) -> None:
    job_id = f"given-{uuid.uuid4().hex}"
    mirrored: list[tuple[str, float]] = []

    def mirror(job_id: str, progress: JobProgress) -> None:
        mirrored.append((job_id, progress.done))

    reports = RedisProgress(counting, running_ttl_ms=60_000, interval=0, on_stored=mirror)
    try:
        for done in (1, 2, 3):
            await report_progress(job_ctx(reports, job_id), done)
        assert [command[0] for command in counting.sent] == ["SET", "SET", "SET"]  # none waited
        assert mirrored == [(job_id, 1), (job_id, 2), (job_id, 3)]
    finally:
        redis_client.delete(progress_key(job_id))


async def test_a_lifetime_that_cannot_be_set_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    client = redis.asyncio.Redis(host="127.0.0.1", port=1)  # nothing listens there
    reports = RedisProgress(client, running_ttl_ms=60_000)
    try:
        with caplog.at_level(logging.WARNING, "django_arq.progress"):
            await report_progress(job_ctx(reports, "away"), 1)  # its store fails, logged
            await reports.job_ended("away", 5000)
    finally:
        await client.aclose()
    lifetime = [m for m in caplog.messages if "could not set how long" in m]
    assert len(lifetime) == 1
    assert re.fullmatch(
        r"job away: could not set how long its progress report lives \(.*127\.0\.0\.1:1.*\)", lifetime[0]
    )
