"""Job dataclasses shared by all backends, and the pure rules both apply to a new job."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FunctionType
from typing import Any
from uuid import uuid4

from arq.jobs import JobStatus

from .arq_internals import (
    abort_jobs_ss,
    expires_extra_ms,
    health_check_key_suffix,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
    to_ms,
)
from .describe import safe_repr, safe_str
from .exceptions import InvalidJob, JobNotFound, JobNotQueued

__all__ = [
    "ENQUEUE_OPTIONS",
    "MAX_COUNT",
    "MAX_DELAY",
    "JobMetadata",
    "JobProgress",
    "JobResult",
    "JobSpec",
    "JobStatus",
    "QueueCounts",
    "can_name_a_job",
    "check_delay",
    "check_queue_name",
    "is_abort_result",
    "is_valid_job_id",
    "job_not_found",
    "parse_aware_time",
    "reserved_key_owner",
    "score_not_before",
]

Seconds = int | float | timedelta

#: The longest ``_defer_by`` / ``_expires`` accepted: far beyond any real use, well within what
#: datetimes and Redis's millisecond expiry times can hold.
MAX_DELAY = timedelta(days=366 * 1000)
#: The largest count a setting or a command takes (a batch, a number of jobs): an int Redis and SQL take.
MAX_COUNT = 2**31 - 1
#: The keyword arguments ``enqueue`` takes for itself, not for the job.
ENQUEUE_OPTIONS = frozenset({"_queue_name", "_job_id", "_defer_until", "_defer_by", "_expires"})

#: Redis keys arq keeps for itself: a "queue" of such a name would write into them (``arq:abort``).
ARQ_KEY_PREFIXES = (job_key_prefix, result_key_prefix, in_progress_key_prefix, retry_key_prefix)
#: The prefix of every Redis key django-arq keeps (workers, progress, attempts, schedules, wake-ups).
OWN_KEY_PREFIX = "django-arq:"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def score_not_before(when: datetime) -> int:
    """The lowest queue score (ms) at which a job cannot start before ``when``.

    A worker, arq's or the mock's, starts a job once its clock rounded to the nearest millisecond
    reaches the score, so it may start half a millisecond before it. arq's own ``to_unix_ms`` also
    rounds to the nearest: together a job could start up to a millisecond early. The score is
    therefore at least half a millisecond past ``when``, counted in whole microseconds.
    """
    micros = (when - _EPOCH) // _MICROSECOND
    return (micros + 500 + 999) // 1000


def check_delay(field: str, value: object) -> None:
    """``InvalidJob`` unless ``value`` is None, or seconds (a number or timedelta) from 0 to ``MAX_DELAY``."""
    if value is None:
        return
    if isinstance(value, timedelta):
        number: int | float = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    else:
        raise InvalidJob(f"{field} must be a number of seconds or a timedelta, not {type(value).__name__}")
    if not 0 <= number <= MAX_DELAY.total_seconds():  # also refuses NaN
        raise InvalidJob(f"{field} must be from 0 to {MAX_DELAY.total_seconds():.0f} seconds, not {value!r}")


def parse_aware_time(value: object) -> datetime | None:
    """ISO 8601 text with its UTC offset as a datetime; None if it is not one that every time zone
    can show (no offset, not a time, or out of range in UTC within a day of year 1 or 9999)."""
    if not isinstance(value, str):
        return None
    try:
        time = datetime.fromisoformat(value)
        time.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return time if time.tzinfo is not None else None


def _encodes(text: str) -> bool:
    """Whether non-ASCII ``text`` has a UTF-8 form, as every Redis key and name must: not with a
    lone surrogate. Callers test ``isascii()`` first, which is faster and true of most text."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _utf8(what: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidJob(f"{what} must be a non-empty string, not {value!r}")
    if not (value.isascii() or _encodes(value)):
        raise InvalidJob(f"{what} {value!r} is not valid text (it holds a lone surrogate)")
    return value


def _not_text_id(job_id: object) -> TypeError:
    """The refusal of a job id that is not text, at enqueue as in reads and aborts."""
    return TypeError(f"job id must be a string, not {type(job_id).__name__}")


def can_name_a_job(job_id: object) -> bool:
    """Whether ``job_id`` can be the id of a stored job, checked by every backend's reads and aborts
    before they look: ``TypeError`` if it is not text (as for ``_job_id``); False for text no Redis
    key can hold (a lone surrogate, which enqueue refuses), which no job has."""
    if not isinstance(job_id, str):
        raise _not_text_id(job_id)
    return job_id.isascii() or _encodes(job_id)


def job_not_found(job_id: str, queue: str) -> JobNotFound:
    """The error of a read that finds no job ``job_id`` in ``queue``."""
    return JobNotFound(f"job {job_id!r} not found in queue {queue!r}", job_id)


def reserved_key_owner(queue: str) -> str | None:
    """Whose own Redis key ``queue`` would name: "arq" or "django-arq"; None for a name free to use."""
    if (
        queue == abort_jobs_ss
        or queue.startswith(ARQ_KEY_PREFIXES)
        or queue.endswith(health_check_key_suffix)
    ):
        return "arq"
    return "django-arq" if queue.startswith(OWN_KEY_PREFIX) else None


def check_queue_name(name: object) -> str:
    """``name`` if it can name an arq queue: text, and none of arq's or django-arq's own keys
    (``InvalidJob`` if not)."""
    queue = _utf8("queue name", name)
    owner = reserved_key_owner(queue)
    if owner is not None:
        raise InvalidJob(f"queue name {queue!r} names one of {owner}'s own Redis keys, not a queue")
    return queue


@dataclass(frozen=True)
class JobProgress:
    """How far a running job said it is (``report_progress``): ``done`` of ``total``, and when."""

    done: float
    total: float | None
    #: ``done / total`` clamped to 0..1; None when there is no total.
    fraction: float | None
    message: str | None
    time: datetime

    @property
    def percent(self) -> str | None:
        """``fraction`` as a whole percentage, ``"40%"``; None without a total."""
        if self.fraction is None:
            return None
        clamped = min(max(self.fraction, 0.0), 1.0)  # also for a report read from a record edited by hand
        return f"{math.floor(clamped * 100)}%"  # 99.6% done is not shown as 100%

    def summary(self) -> str:
        """One line: ``"40/100 (40%) rows 400/1000"``, or ``"40 rows"`` without a total."""
        text = _count(self.done) if self.total is None else f"{_count(self.done)}/{_count(self.total)}"
        if self.percent is not None:
            text += f" ({self.percent})"
        return f"{text} {self.message}" if self.message else text


def _count(number: float) -> str:
    """A count as written by a person: ``400``, not ``400.0``; ``2.5`` as it is."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


@dataclass
class JobMetadata:
    """What is known about a job before it finishes (the seed's ``JobMetadata``)."""

    id: str
    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    enqueue_time: datetime
    status: JobStatus
    queue_name: str
    #: The job's last progress report; None when it never reported any.
    progress: JobProgress | None = field(default=None, kw_only=True)
    #: The OpenTelemetry trace of the enqueue, as 32 hex digits: set by a traced enqueue
    #: (``TRACING``), None otherwise and in what is read back from Redis.
    trace_id: str | None = field(default=None, kw_only=True)


@dataclass
class JobResult(JobMetadata):
    """A finished job: its metadata plus when it ran and how it ended."""

    start_time: datetime
    finish_time: datetime
    success: bool
    result: Any

    def metadata(self) -> JobMetadata:
        """The metadata part of this result."""
        return JobMetadata(**{f.name: getattr(self, f.name) for f in dataclasses.fields(JobMetadata)})


@dataclass
class QueueCounts:
    """How many jobs of one queue wait, are deferred or run, and what its workers last reported."""

    queue_name: str
    queued: int
    deferred: int
    in_progress: int
    #: True when more jobs were due than were checked for running: ``in_progress`` is a lower bound.
    in_progress_capped: bool = False
    #: arq's health-check text of the queue's worker, and seconds before it expires (None: none).
    health: str | None = None
    health_ttl: float | None = None


@dataclass(frozen=True)
class JobSpec:
    """One job to enqueue: the task name, its arguments and arq's enqueue options."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    queue_name: str | None = None
    job_id: str | None = None
    defer_until: datetime | None = None
    defer_by: Seconds | None = None
    expires: Seconds | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(_not_a_name(self.name))
        if not self.name:
            raise InvalidJob("task name must be a non-empty string")
        if self.defer_until is not None and self.defer_by is not None:
            raise InvalidJob("use either _defer_until or _defer_by, not both")
        if self.defer_until is not None and (
            not isinstance(self.defer_until, datetime) or self.defer_until.tzinfo is None
        ):
            raise InvalidJob(f"_defer_until must be a timezone-aware datetime, not {self.defer_until!r}")
        check_delay("_defer_by", self.defer_by)
        check_delay("_expires", self.expires)
        if self.job_id is not None and not isinstance(self.job_id, str):
            raise _not_text_id(self.job_id)
        if self.job_id:
            _utf8("job id", self.job_id)
        if self.queue_name is not None:
            check_queue_name(self.queue_name)

    def schedule(self, now_ms: int, extra_ms: int = expires_extra_ms) -> tuple[int, int]:
        """The queue score (when the job may start) and the payload's time to live, both in ms.

        arq's rule in ``ArqRedis.enqueue_job``, but for ``defer_until``: its score is
        ``score_not_before``, so the job never starts before the time it was given; and a time in
        the past makes a job due now, kept as long as any such job (arq's rule would give its
        payload a time to live of the extra less the time since, none a day late).
        """
        if self.defer_until is not None:
            score = score_not_before(self.defer_until)
        elif self.defer_by:
            score = now_ms + int(to_ms(self.defer_by) or 0)
        else:
            score = now_ms
        ttl = to_ms(self.expires) or max(score - now_ms, 0) + extra_ms
        return score, max(int(ttl), 1)


def job_status(in_progress: bool, score_ms: float | None, now_ms: int) -> JobStatus:
    """The status of an unfinished job, by arq's rule in ``Job.status()``."""
    if in_progress:
        return JobStatus.in_progress
    if score_ms is not None and score_ms > now_ms:
        return JobStatus.deferred
    return JobStatus.queued


def job_ids(specs: Sequence[JobSpec]) -> list[str]:
    """Each spec's job id, or a new one where it has none: a random UUID (version 4) in hex, as
    arq makes them. The random bytes of a batch are read at once (``uuid4()`` per job would cost
    a bulk enqueue a tenth of its time)."""
    missing = sum(1 for spec in specs if not spec.job_id)
    if missing < 2:  # nothing to share
        return [spec.job_id or uuid4().hex for spec in specs]
    raw = bytearray(os.urandom(16 * missing))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # the RFC 4122 variant
    hexed = raw.hex()
    fresh = (hexed[i : i + 32] for i in range(0, len(hexed), 32))
    return [spec.job_id or next(fresh) for spec in specs]


def span_names(
    specs: Sequence[JobSpec], ids: Sequence[str], default_queue: str
) -> list[tuple[str, str, str]]:
    """What names each job's enqueue span (``EnqueueTracer.spans``): function, queue and job id."""
    return [
        (spec.name, spec.queue_name or default_queue, job_id) for spec, job_id in zip(specs, ids, strict=True)
    ]


def check_distinct_ids(ids: Sequence[str]) -> None:
    """``JobNotQueued`` if one batch names a job id twice."""
    if len(set(ids)) != len(ids):
        dups = tuple(sorted({i for i in ids if ids.count(i) > 1}))
        raise JobNotQueued(f"job id {dups[0]!r} appears twice in one batch", dups[0], dups)


def ids_taken(taken: tuple[str, ...]) -> JobNotQueued:
    """The error for a batch refused because some of its ids exist already."""
    what = "job id" if len(taken) == 1 else "job ids"
    message = f"{what} {', '.join(map(repr, taken))} already exist; nothing was enqueued"
    return JobNotQueued(message, taken[0], taken)


def _not_a_name(value: Any) -> str:
    """The refusal of a task name that is not text; for a function, the dotted path to give instead."""
    path = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
    if isinstance(value, FunctionType) and "<" not in path:  # importable: not a lambda or a local one
        return f"task name must be the function's dotted path: pass {path!r}, not the function itself"
    return f"task name must be a non-empty string, not {safe_repr(value)}"


def unserializable(spec: JobSpec, serializer_name: str, job_id: str, exc: BaseException) -> JobNotQueued:
    """The error for arguments the alias's serializer cannot encode."""
    cause = exc.__cause__ or exc
    what = f"the arguments of {spec.name!r} with the {serializer_name} serializer"
    return JobNotQueued(f"cannot serialize {what}: {safe_str(cause)}", job_id)


_JOB_ID = re.compile(r"[\w.:@+-]{1,200}")


def is_valid_job_id(job_id: str) -> bool:
    """Whether an id is safe to take from untrusted input (HTTP, command line): letters,
    digits and ``. _ : @ + -``, not only dots (``..`` would be a path segment in a URL)."""
    return bool(_JOB_ID.fullmatch(job_id)) and job_id.strip(".") != ""


def is_abort_result(success: bool, result: Any) -> bool:
    """Whether a stored result is arq's record of an aborted job."""
    if success:
        return False
    if isinstance(result, asyncio.CancelledError):
        return True
    return getattr(result, "type_name", None) == "asyncio.exceptions.CancelledError"
