"""arq cron jobs as ``CRON_JOBS`` gives them, checked before arq computes a time from them.

arq's ``next_cron`` steps forward until a datetime matches every field: a value out of its range
(``hour=99``), an empty set, or a day no month given has (``month=2, day=30``) would make a worker
search forever, and a value of the wrong type fail in the middle of its loop. ``cron_problem``
says why a ``CronJob`` can never run; ``cron_of_entry`` builds one from a settings dict and
``cron_of_path`` imports one named by a dotted path, each checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arq.cron import cron
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..queues.arq_internals import WEEKDAYS, CronJob  # WEEKDAYS: arq's names (tues, thurs)

__all__ = ["cron_of_entry", "cron_of_path", "cron_problem"]

#: Each field's smallest and largest value, in the order arq matches them.
RANGES = {
    "month": (1, 12),
    "day": (1, 31),
    "weekday": (0, 6),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
#: The most days each month has (February's in a leap year).
MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _values(value: Any) -> list[Any] | None:
    """A field's values (one, or a set, list or tuple of them); None if it is neither."""
    if isinstance(value, set | list | tuple):  # what arq matches (not a frozenset)
        return list(value)
    return None if isinstance(value, str | bytes | Mapping) else [value]


def cron_problem(job: CronJob) -> str | None:
    """Why ``job`` can never run (or would fail when arq computes its next run); None if it can."""
    chosen: dict[str, list[int]] = {}
    for field, (low, high) in RANGES.items():
        value = getattr(job, field)
        if value is None or (field == "weekday" and isinstance(value, str) and value.lower() in WEEKDAYS):
            continue
        values = _values(value)
        if not values or not all(_whole(v, low, high) for v in values):
            allowed = f"a whole number from {low} to {high}, or a non-empty set of them"
            if field == "weekday":
                allowed += f", or one name ({', '.join(WEEKDAYS)})"
            return f"{field}={value!r}: give {allowed}"
        chosen[field] = values
    if not _whole(job.microsecond, 0, 999_999):
        return f"microsecond={job.microsecond!r}: give a whole number from 0 to 999999"
    months, days = chosen.get("month", list(MONTH_DAYS)), chosen.get("day")
    if days is not None and not any(day <= MONTH_DAYS[month] for month in months for day in days):
        return f"day={job.day!r} falls in no month={job.month!r}: the job would never run"
    return None


async def _placeholder(ctx: dict[str, Any]) -> None:
    """Stands in for a cron function while arq builds the CronJob (it is imported apart)."""


def cron_of_entry(entry: Mapping[str, Any]) -> CronJob:
    """The ``CronJob`` of a ``CRON_JOBS`` dict (``FUNCTION`` and ``arq.cron()``'s arguments, in any
    case) around a placeholder coroutine; ``ImproperlyConfigured`` saying why if it cannot run."""
    function = entry.get("FUNCTION")
    options = {str(key).lower(): value for key, value in entry.items() if key != "FUNCTION"}
    try:
        job = cron(_placeholder, **{"name": f"cron:{function}", **options})
    except (TypeError, ValueError) as exc:  # an argument arq.cron() does not take, or cannot read
        raise ImproperlyConfigured(f"CRON_JOBS entry for {function!r}: {exc}") from None
    problem = cron_problem(job)
    if problem is not None:
        raise ImproperlyConfigured(f"CRON_JOBS entry for {function!r}: {problem}")
    return job


def cron_of_path(path: str, what: str = "CRON_JOBS entry") -> CronJob:
    """The ``CronJob`` at the dotted ``path``; ``ImproperlyConfigured`` (its text naming ``what``)
    if it cannot be imported, is not a ``CronJob`` or could never run."""
    try:
        job = import_string(path)
    except Exception as exc:  # a module that raises on import is as broken as a missing one
        problem = f"cannot be imported: {type(exc).__name__}: {exc}"
        raise ImproperlyConfigured(f"{what} {path!r} {problem}") from exc
    if not isinstance(job, CronJob):
        raise ImproperlyConfigured(f"{what} {path!r} is not an arq CronJob (arq.cron(...))")
    never = cron_problem(job)
    if never is not None:
        raise ImproperlyConfigured(f"{what} {path!r}: {never}")
    return job
