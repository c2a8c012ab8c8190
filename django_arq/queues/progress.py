"""Progress reported from inside a job: the values, their JSON form, and how reports are stored."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .jobs import JobProgress

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "make_progress",
    "progress_from_json",
    "progress_to_json",
]

#: Longer messages are cut to this many characters (the last one an ellipsis).
MAX_MESSAGE_LENGTH = 200
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _amount(what: str, value: object) -> int | float:
    """``value`` if it is a finite number >= 0 (an ``int`` stays one); ``TypeError``/``ValueError`` if not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"progress {what} must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"progress {what} must be a finite number, not {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"progress {what} must be a finite number >= 0, not {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else number


def _message(value: object) -> str | None:
    """A short, storable message: cut to ``MAX_MESSAGE_LENGTH``; NUL characters and lone surrogates
    (which neither JSON in PostgreSQL nor UTF-8 can hold) replaced by U+FFFD."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"progress message must be a string or None, not {type(value).__name__}")
    if len(value) > MAX_MESSAGE_LENGTH:
        value = value[: MAX_MESSAGE_LENGTH - 1] + "\u2026"
    return _UNSTORABLE.sub("\ufffd", value)


def _fraction(done: float, total: float | None) -> float | None:
    if total is None:
        return None
    if total == 0:  # nothing to do: all of it done
        return 1.0
    return min(1.0, done / total)


def make_progress(
    done: object, total: object = None, message: object = None, time: datetime | None = None
) -> JobProgress:
    """A checked ``JobProgress`` (``TypeError`` or ``ValueError`` for a bad value), at ``time`` or now."""
    amount = _amount("done", done)
    whole = None if total is None else _amount("total", total)
    return JobProgress(
        done=amount,
        total=whole,
        fraction=_fraction(amount, whole),
        message=_message(message),
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
    try:
        time = datetime.fromisoformat(data["time"])
        progress = make_progress(data["done"], data.get("total"), data.get("message"), time)
    except (KeyError, TypeError, ValueError):
        return None
    if progress.time.tzinfo is None:
        return None
    return progress
