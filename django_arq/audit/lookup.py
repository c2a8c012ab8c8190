"""A job's current state by id: from Redis, else from its JobRecord; optionally waiting until it finishes.

One async implementation serves the HTTP API's long-poll and the management commands (which
drive it with ``async_to_sync``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..handler import get_queue
from ..models import JobRecord
from ..queues.exceptions import JobNotFound
from ..queues.jobs import JobMetadata, JobResult, JobStatus

__all__ = ["FoundJob", "find_job", "record_job", "wait_for_job"]

#: Longest pause between two polls while waiting for a job.
MAX_POLL_INTERVAL = 0.2


@dataclass(frozen=True)
class FoundJob:
    """A job's metadata, or its ``JobResult`` once finished, and where it was read."""

    job: JobMetadata
    source: Literal["redis", "record"]

    @property
    def finished(self) -> bool:
        return isinstance(self.job, JobResult)


def record_job(record: JobRecord) -> JobMetadata:
    """A JobRecord as the dataclass Redis would have given (``JobResult`` once it has finished)."""
    metadata = JobMetadata(
        id=record.job_id,
        name=record.name,
        args=tuple(record.args or ()),
        kwargs=dict(record.kwargs or {}),
        enqueue_time=record.enqueue_time,
        status=JobStatus(record.status),
        queue_name=record.queue_name,
    )
    if record.finish_time is None or record.success is None:
        return metadata
    return JobResult(
        **vars(metadata),
        start_time=record.start_time or record.finish_time,
        finish_time=record.finish_time,
        success=record.success,
        result=record.result,
    )


async def find_job(alias: str, job_id: str, queue_name: str | None = None) -> FoundJob:
    """The job as Redis knows it, else as its JobRecord last saw it; ``JobNotFound`` if neither has it."""
    queue = get_queue(alias)
    try:
        metadata = await queue.get_job_metadata(job_id, queue_name)
        if metadata.status is JobStatus.complete:
            return FoundJob(await queue.get_job_result(job_id, queue_name), "redis")
        return FoundJob(metadata, "redis")
    except JobNotFound:  # gone from Redis (expired, or never there): the record may remember it
        record = await JobRecord.objects.filter(alias=alias, job_id=job_id).afirst()
        if record is None:
            raise
        return FoundJob(record_job(record), "record")


async def wait_for_job(
    alias: str,
    job_id: str,
    queue_name: str | None = None,
    *,
    timeout: float | None,
    on_poll: Callable[[FoundJob], None] | None = None,
) -> FoundJob:
    """Poll until the job finishes or ``timeout`` seconds pass (None: no limit); the last state seen.

    ``timeout=0`` reads once. ``on_poll`` is called with every state read (for live status).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.01
    while True:
        found = await find_job(alias, job_id, queue_name)
        if on_poll is not None:
            on_poll(found)
        if found.finished:
            return found
        remaining = MAX_POLL_INTERVAL if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            return found
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_POLL_INTERVAL)
