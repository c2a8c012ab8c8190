"""Operator actions on recorded jobs: abort, refresh from Redis, retry.

The admin's actions and buttons call these. Redis is asked about all selected jobs at once
(async calls gathered on one event loop, at most ``CONCURRENCY`` at a time); N aborts share one
deadline, so they wait ``timeout`` seconds in total, not N times that. The records are then
updated in plain synchronous ORM code.
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from ..audit.payloads import storable
from ..audit.state import State, apply_state
from ..handler import get_queue
from ..models import JobRecord
from ..queues.describe import safe_str
from ..queues.exceptions import ArqJobError, JobNotFound, JobResultUnavailable, RedisUnavailable
from ..queues.jobs import JobMetadata, JobSpec, JobStatus

__all__ = ["Outcome", "abort_records", "lossy_value", "refresh_records", "retry_records"]

#: How many jobs are asked about at the same time.
CONCURRENCY = 20


class Outcome(enum.Enum):
    """What happened to one job; the value is the sentence the admin shows."""

    aborted = "Aborted"
    finished = "Already finished, nothing to abort"
    unknown = "Unknown to Redis (result expired or never enqueued); record kept"
    requested = "Abort requested, but no worker answered in time; a worker aborts the job when it sees it"
    refreshed = "Refreshed from Redis"
    newer = "Not refreshed: a worker updated the record after it was read; it is kept as the worker wrote it"
    retried = "Retried"
    not_finished = "Not retried: only finished jobs can be retried"
    lossy = "Not retried: Redis no longer has the job and its recorded arguments may not be exact copies"
    unavailable = "Redis unavailable"
    failed = "Failed"


@dataclass
class Report:
    """The outcome for one record, with a detail (an error message, the new job's id)."""

    record: JobRecord
    outcome: Outcome
    detail: str = ""


#: What asking Redis about one job gave: the outcome, the state read, a detail.
Step = tuple[Outcome, State, str]


# -- reading Redis ---------------------------------------------------------------------------


async def read_state(record: JobRecord) -> State:
    """What Redis knows about a recorded job: its result, else its metadata, else None."""
    queue = get_queue(record.alias)
    try:
        return await queue.get_job_result(record.job_id, record.queue_name)
    except JobNotFound:
        return None
    except JobResultUnavailable:
        pass
    try:
        return await queue.get_job_metadata(record.job_id, record.queue_name)
    except JobNotFound:
        return None


async def _abort_one(record: JobRecord, deadline: float) -> Step:
    queue = get_queue(record.alias)
    try:  # a job whose turn comes after the deadline is still requested, and checked once
        timeout = max(0.0, deadline - time.monotonic())
        aborted = await queue.abort_job(record.job_id, record.queue_name, timeout=timeout)
    except TimeoutError:
        return Outcome.requested, None, ""
    state = await read_state(record)
    if aborted:
        return Outcome.aborted, state, ""
    return (Outcome.finished if state is not None else Outcome.unknown), state, ""


async def _refresh_one(record: JobRecord) -> Step:
    state = await read_state(record)
    return (Outcome.refreshed if state is not None else Outcome.unknown), state, ""


async def _gather(
    coro_fn: Callable[..., Awaitable[Step]], records: Sequence[JobRecord], *args: Any
) -> list[Step]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def guarded(record: JobRecord) -> Step:
        async with limit:
            try:
                return await coro_fn(record, *args)
            except RedisUnavailable as exc:
                return Outcome.unavailable, None, str(exc)
            except ArqJobError as exc:
                return Outcome.failed, None, str(exc)
            except Exception as exc:  # e.g. a payload the alias's serializer cannot read: report, go on
                return Outcome.failed, None, f"{type(exc).__name__}: {safe_str(exc)}"

    return list(await asyncio.gather(*(guarded(r) for r in records)))


# -- updating records ------------------------------------------------------------------------


def _saved(report: Report, fields: Iterable[str], *, if_unchanged: bool = False) -> Report:
    """``report``, once its record's ``fields`` are saved; failed, saying why, if the database refused
    them (the other records of the action are saved all the same). ``if_unchanged``: saved only if
    no one wrote the record since it was read (its ``updated_at``), else reported as ``newer``."""
    record = report.record
    try:
        with transaction.atomic():
            if not if_unchanged:
                record.save(update_fields=[*fields, "updated_at"])
            elif (
                not type(record)
                ._default_manager.filter(pk=record.pk, updated_at=record.updated_at)
                .update(**{name: getattr(record, name) for name in fields}, updated_at=timezone.now())
            ):
                return Report(record, Outcome.newer, "")
    except DatabaseError as exc:
        detail = f"{report.outcome.value}, but its record could not be saved: {safe_str(exc)}"
        return Report(report.record, Outcome.failed, detail)
    return report


def abort_records(records: Sequence[JobRecord], user: str, timeout: float) -> list[Report]:
    """Abort each job, waiting at most ``timeout`` seconds in all for workers to confirm."""
    results = async_to_sync(_gather)(_abort_one, records, time.monotonic() + timeout)
    now = timezone.now()
    reports = []
    for record, (outcome, state, detail) in zip(records, results, strict=True):
        fields = apply_state(record, state)
        if outcome in (Outcome.aborted, Outcome.requested):
            record.abort_requested_at, record.abort_requested_by = now, user[:150]
            fields += ["abort_requested_at", "abort_requested_by"]
        report = Report(record, outcome, detail)
        reports.append(_saved(report, fields) if fields else report)
    return reports


def refresh_records(records: Sequence[JobRecord]) -> list[Report]:
    """Re-read each job from Redis and update its record; a job Redis has forgotten keeps its record."""
    results = async_to_sync(_gather)(_refresh_one, records)
    reports = []
    for record, (outcome, state, detail) in zip(records, results, strict=True):
        report = Report(record, outcome, detail)
        # a job Redis has forgotten keeps its record as it is
        # a worker's newer write (the job ended after Redis was read) is not set back
        reports.append(
            report if state is None else _saved(report, apply_state(record, state), if_unchanged=True)
        )
    return reports


#: Text that ``jsonable`` may have made of a value JSON cannot hold: an ISO date, time or
#: datetime, a UUID, a Decimal (any number written as text).
_TIME = r"\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}(:\d{2}(\.\d+)?)?|Z)?"
_MADE_TEXT = re.compile(
    rf"\d{{4}}-\d{{2}}-\d{{2}}([T ]{_TIME})?|{_TIME}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(s?NaN|Infinity)",
    re.IGNORECASE,
)
#: Dict keys that ``jsonable`` may have made of a key that was not a string: a number,
#: ``true``/``false``/``null``, or the ``str`` of a tuple or bytes.
_MADE_KEY = re.compile(r"true|false|null|-?Infinity|NaN|\(.*\)|b'.*'|b\".*\"", re.DOTALL)


def lossy_value(value: Any, where: str = "args") -> str | None:
    """Where a recorded payload may not be an exact copy of what was sent, and why; None if it is.

    A record keeps arguments as JSON: values JSON cannot hold were written as stand-ins
    (``{"repr": ...}``, ``{"exception": ...}``) or as text (datetimes, dates, UUIDs, Decimals),
    and keys that were not strings as text. Text of that shape cannot be told apart from a string
    the caller sent, so it counts as lossy too: a retry must not send a value of another type.
    """
    if isinstance(value, dict):
        if set(value) in ({"repr"}, {"exception", "message"}):
            return f"{where} holds a stand-in {value!r} for a value JSON cannot hold"
        for key, item in value.items():
            if _MADE_KEY.fullmatch(key) or _MADE_TEXT.fullmatch(key):
                return f"{where} has the key {key!r}, which may have been a key that was not a string"
            found = lossy_value(item, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = lossy_value(item, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(value, str) and _MADE_TEXT.fullmatch(value):
        return f"{where} is {value!r}, which may have been a {_kind(value)}"
    return None


def _kind(text: str) -> str:
    return "date, time or UUID" if re.search(r"[-:]\d|[0-9a-f]{8}-", text) else "number of another type"


def _retry_one(record: JobRecord) -> Report:
    if record.status != JobStatus.complete.value:
        return Report(record, Outcome.not_finished, f"it is {record.get_status_display()}")
    queue = get_queue(record.alias)
    try:
        original = queue.get_job_result_sync(record.job_id, record.queue_name)
        args, kwargs = tuple(original.args), dict(original.kwargs)
    except (JobNotFound, JobResultUnavailable):
        if not isinstance(record.args, list) or not isinstance(record.kwargs, dict):  # a row written by hand
            return Report(record, Outcome.lossy, "args must be a JSON list and kwargs a JSON object")
        lossy = lossy_value(record.args, "args") or lossy_value(record.kwargs, "kwargs")
        if lossy:
            return Report(record, Outcome.lossy, lossy)
        args, kwargs = tuple(record.args), dict(record.kwargs)
    (meta,) = queue.enqueue_many_sync([JobSpec(record.name, args, kwargs, record.queue_name)])
    try:
        with transaction.atomic():  # a refusal leaves the action's transaction usable
            link_retry(record, meta)
    except DatabaseError as exc:  # enqueued all the same: say so, lest it be retried twice
        return Report(record, Outcome.retried, f"{meta.id} (not linked to this record: {safe_str(exc)})")
    return Report(record, Outcome.retried, meta.id)


def link_retry(original: JobRecord, meta: JobMetadata) -> JobRecord:
    """Point the new job's record at the one it retries, creating it if the audit layer has not."""
    lookup = {"alias": original.alias, "job_id": meta.id}
    if JobRecord.objects.filter(**lookup).update(retry_of=original, updated_at=timezone.now()):
        return JobRecord.objects.get(**lookup)
    try:
        with transaction.atomic():
            return JobRecord.objects.create(
                **lookup,
                name=meta.name,
                args=storable(list(meta.args)),
                kwargs=storable(meta.kwargs),
                enqueue_time=meta.enqueue_time,
                status=meta.status.value,
                queue_name=meta.queue_name,
                retry_of=original,
            )
    except IntegrityError:  # the audit layer wrote it in the meantime
        JobRecord.objects.filter(**lookup).update(retry_of=original)
        return JobRecord.objects.get(**lookup)


def retry_records(records: Sequence[JobRecord]) -> list[Report]:
    """Enqueue a copy of each finished job (same name, arguments and queue) linked by ``retry_of``."""
    reports = []
    for record in records:
        try:
            reports.append(_retry_one(record))
        except RedisUnavailable as exc:
            reports.append(Report(record, Outcome.unavailable, str(exc)))
        except ArqJobError as exc:
            reports.append(Report(record, Outcome.failed, str(exc)))
        except Exception as exc:  # e.g. an alias since removed, or arguments a record cannot give back
            reports.append(Report(record, Outcome.failed, f"{type(exc).__name__}: {safe_str(exc)}"))
    return reports
