"""A job's current state by id: from Redis, else from its JobRecord; optionally waiting until it finishes.

One async implementation serves the HTTP API's long-poll and the management commands (which
drive it with ``async_to_sync``). Waiting polls Redis only: the record is read when Redis does
not have the job (once at the start, again when Redis forgets it and at the deadline), and the
database connection of each read is released at once, so a waiter holds no connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from asgiref.sync import sync_to_async
from django.db import connections

from ..handler import get_queue
from ..models import JobRecord
from ..queues.base import ArqQueue
from ..queues.exceptions import JobNotFound
from ..queues.jobs import JobMetadata, JobResult, JobStatus
from ..queues.progress import progress_from_json
from .rows import storable_id
from .tries import tries_json

__all__ = ["FoundJob", "find_job", "read_tries", "record_job", "release_connections", "wait_for_job"]

#: Longest pause between two polls of Redis while waiting for a job.
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
        progress=progress_from_json(record.progress),
        trace_id=record.trace_id or None,
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


def _release() -> None:
    """Close this thread's database connections (a pool takes them back), except inside a transaction."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


#: Run in the caller's thread-sensitive ORM thread, whose connections they are.
release_connections = sync_to_async(_release)


def _read_record(alias: str, job_id: str) -> FoundJob | None:
    records = JobRecord.objects.filter(alias=alias, job_id=storable_id(job_id))
    try:
        record = records.first()
    finally:
        _release()
    return None if record is None else FoundJob(record_job(record), "record")


_record = sync_to_async(_read_record)

#: The fields of a job's record that ``try_status`` reads.
TRY_FIELDS = ("alias", "name", "status", "job_try", "success", "next_try_at", "try_errors")


def _read_tries(alias: str, job_id: str) -> dict[str, object]:
    records = JobRecord.objects.filter(alias=alias, job_id=storable_id(job_id)).only(*TRY_FIELDS)
    try:
        return tries_json(records.first())
    finally:
        _release()


#: A job's tries as its record shows them (``tries.tries_json``); the empty form without a record.
read_tries = sync_to_async(_read_tries)


async def _redis_job(queue: ArqQueue, job_id: str, queue_name: str | None) -> FoundJob | None:
    try:
        return FoundJob(await queue.get_job(job_id, queue_name), "redis")
    except JobNotFound:
        return None


async def find_job(alias: str, job_id: str, queue_name: str | None = None) -> FoundJob:
    """The job as Redis knows it, else as its JobRecord last saw it; ``JobNotFound`` if neither has it."""
    found = await _redis_job(get_queue(alias), job_id, queue_name) or await _record(alias, job_id)
    if found is None:
        raise JobNotFound(f"job {job_id!r} not found in Redis nor in the job records of {alias!r}", job_id)
    return found


async def wait_for_job(
    alias: str,
    job_id: str,
    queue_name: str | None = None,
    *,
    timeout: float | None,
    on_poll: Callable[[FoundJob], None] | None = None,
    first: FoundJob | None = None,
    until: Callable[[FoundJob], bool] | None = None,
) -> FoundJob:
    """Poll until the job finishes or ``timeout`` seconds pass (None: no limit); the last state seen.

    ``timeout=0`` reads once. ``on_poll`` is called with every state read (for live status);
    ``first`` is a state the caller has just read, used in place of the first read; ``until``
    ends the wait early, on the first state it is true of (its progress moved, say).
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    queue = get_queue(alias)
    found = first or await find_job(alias, job_id, queue_name)
    if found.source == "record":  # not in Redis under that name: look under the queue its record names
        queue_name = found.job.queue_name
    released = False
    delay = 0.01
    while True:
        if on_poll is not None:
            on_poll(found)
        if found.finished or (until is not None and until(found)):
            return found
        remaining = MAX_POLL_INTERVAL if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            # The deadline: a job Redis does not hold may have been finished since, as its record says.
            return (await _record(alias, job_id) or found) if found.source == "record" else found
        if not released:  # whatever the request read before (session, user): not held while waiting
            await release_connections()
            released = True
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, MAX_POLL_INTERVAL)
        in_redis = await _redis_job(queue, job_id, queue_name)
        if in_redis is not None:
            found = in_redis
        elif found.source == "redis":  # Redis forgot it (result expired or not kept): the record knows
            recorded = await _record(alias, job_id)
            if recorded is None:
                raise JobNotFound(f"job {job_id!r} is gone from Redis and has no job record", job_id)
            found = recorded
