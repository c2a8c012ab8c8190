"""Progress reported by a job: the values checked, their JSON form, and how Redis holds them.

A report is ``done`` of ``total`` (finite numbers >= 0), a short message and the time it was made
(a ``JobProgress``). Its JSON form, ``progress_to_json``, is what Redis (at
``django-arq:progress:<job id>``), ``JobRecord.progress`` and the HTTP API hold; ``reporting``
coalesces and stores the reports of running jobs.
"""

from __future__ import annotations

import json
import math
import numbers
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from .describe import safe_repr
from .jobs import JobProgress, parse_aware_time
from .text import storable_text

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "PROGRESS_KEY_PREFIX",
    "Report",
    "decode_progress",
    "encode_progress",
    "make_progress",
    "new_report",
    "progress_from_json",
    "progress_key",
    "progress_of",
    "progress_to_json",
]

#: Redis keys of progress reports: django-arq's own, none of arq's prefixes.
PROGRESS_KEY_PREFIX = "django-arq:progress:"

#: Longer messages are cut to this many characters (the last one an ellipsis).
MAX_MESSAGE_LENGTH = 200


def _amount(what: str, value: object) -> int | float:
    """``value`` if it is a finite number >= 0 (an ``int`` stays one); ``TypeError``/``ValueError`` if not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"progress {what} must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"progress {what} must be a finite number, not {safe_repr(value)}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"progress {what} must be a finite number >= 0, not {safe_repr(value)}")
    return int(value) if isinstance(value, numbers.Integral) else number


def _message(value: object) -> str | None:
    """A short, storable message: cut to ``MAX_MESSAGE_LENGTH``; NUL characters and lone surrogates
    (which neither JSON in PostgreSQL nor UTF-8 can hold) replaced by U+FFFD."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"progress message must be a string or None, not {type(value).__name__}")
    return storable_text(value, MAX_MESSAGE_LENGTH)


def _fraction(done: float, total: float | None) -> float | None:
    if total is None:
        return None
    if total == 0:  # nothing to do: all of it done
        return 1.0
    return min(1.0, done / total)


#: A report as a job makes it, checked: done, total, message, and its time (Unix seconds).
Report = tuple[int | float, int | float | None, str | None, float]
_NUMBERS = (int, float)
_LARGEST = sys.float_info.max


def new_report(
    done: object,
    total: object,
    message: object,
    _numbers: tuple[type, ...] = _NUMBERS,
    _largest: float = _LARGEST,
    _now: Callable[[], float] = time.time,
) -> Report:
    """A report of now, checked as ``make_progress`` checks, with a short cut for plain numbers and
    short ASCII text: a job may report on every iteration of a tight loop."""
    if not (type(done) in _numbers and 0 <= done <= _largest):  # type: ignore[operator]
        done = _amount("done", done)
    if total is not None and not (type(total) in _numbers and 0 <= total <= _largest):  # type: ignore[operator]
        total = _amount("total", total)
    if message is not None and not (
        type(message) is str
        and len(message) <= MAX_MESSAGE_LENGTH
        and message.isascii()
        and "\x00" not in message
    ):
        message = _message(message)
    return done, total, message, _now()  # type: ignore[return-value]


def progress_of(report: Report) -> JobProgress:
    """The ``JobProgress`` of a report."""
    done, total, message, at = report
    when = datetime.fromtimestamp(at, UTC)
    return JobProgress(done=done, total=total, fraction=_fraction(done, total), message=message, time=when)


def make_progress(
    done: object, total: object = None, message: object = None, time: datetime | None = None
) -> JobProgress:
    """A checked ``JobProgress`` (``TypeError`` or ``ValueError`` for a bad value), at ``time`` or now."""
    amount, whole, text, _ = new_report(done, total, message)
    return JobProgress(
        done=amount,
        total=whole,
        fraction=_fraction(amount, whole),
        message=text,
        time=time or datetime.now(UTC),
    )


def progress_to_json(progress: JobProgress) -> dict[str, Any]:
    """The JSON form of a report, as Redis, the JobRecord and the HTTP API hold it: ``done``,
    ``total``, ``fraction``, ``message`` and ``time`` (ISO 8601)."""
    return {
        "done": progress.done,
        "total": progress.total,
        "fraction": progress.fraction,
        "message": progress.message,
        "time": progress.time.isoformat(),
    }


def progress_from_json(data: object) -> JobProgress | None:
    """The report a JSON form holds; None if it is missing or not one (never raises)."""
    if not isinstance(data, Mapping):
        return None
    time = parse_aware_time(data.get("time"))
    if time is None:
        return None
    try:
        return make_progress(data["done"], data.get("total"), data.get("message"), time)
    except (KeyError, TypeError, ValueError):
        return None


def progress_key(job_id: str) -> str:
    """The Redis key of a job's progress report."""
    return PROGRESS_KEY_PREFIX + job_id


def encode_progress(progress: JobProgress) -> bytes:
    """A report as Redis holds it: its JSON form, compact."""
    return json.dumps(progress_to_json(progress), separators=(",", ":")).encode()


def decode_progress(raw: bytes | str | None) -> JobProgress | None:
    """The report Redis holds; None if there is none or it is not one (never raises)."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, TypeError, RecursionError):  # not JSON, not UTF-8, nested too deeply
        return None
    return progress_from_json(data)
