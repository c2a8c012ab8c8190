"""The tries of a job as its record keeps them, and the status line an operator reads.

``JobRecord.try_errors`` is a list of ``{"try", "error", "time", "lost"}``, oldest first: one entry
for each try that raised and was run again, and for the last try of a job that had several;
``error`` is short (the exception's class and message, cut to ``ERROR_LENGTH``), the whole
traceback of the last try staying in ``JobRecord.error``. ``next_try_at`` is when a retried job
runs again. ``try_status(record)`` says it in words: "retrying, try 2 of 5, next at 14:03:10", the
one text the admin, the HTTP API and ``arq_job`` show.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.worker import Retry
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from ..conf import MAX_TRIES, max_tries
from ..queues import JobStatus
from ..queues.describe import class_path
from ..queues.text import storable_text

__all__ = [
    "ERROR_LENGTH",
    "merged_try_errors",
    "next_try_at",
    "short_error",
    "tries_json",
    "try_error",
    "try_status",
]

#: The longest ``error`` of a ``try_errors`` entry.
ERROR_LENGTH = 300


def short_error(exc: BaseException | str | None) -> str:
    """``exc`` in one short line: its class and message (a ``Retry``'s cause, if it has one); a
    text (what happened to a try that raised nothing) as it is."""
    if isinstance(exc, Retry) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, str):
        text = exc
    elif exc is None or isinstance(exc, asyncio.CancelledError):
        return "cancelled (the worker stopped): run again"
    else:
        name = class_path(type(exc), builtins=False)
        try:
            message = str(exc)
        except Exception:  # a broken __str__ must not stop the record
            message = "<message not readable>"
        text = f"{name}: {message}" if message else name
    return storable_text(" ".join(text.split()), ERROR_LENGTH)


def try_error(
    job_try: int, exc: BaseException | str | None, time: datetime, *, lost: bool = False
) -> dict[str, Any]:
    """The ``try_errors`` entry of try ``job_try``, which ended at ``time`` by raising ``exc`` (or
    as the text ``exc`` says: a lost worker's try)."""
    return {"try": job_try, "error": short_error(exc), "time": time.isoformat(), "lost": lost}


def next_try_at(exc: BaseException | None, now: datetime) -> datetime:
    """When arq runs a job again after its try raised ``exc`` (a ``Retry``'s defer, else at once)."""
    defer_ms = exc.defer_score if isinstance(exc, Retry) else None
    return now + timedelta(milliseconds=defer_ms or 0)


def merged_try_errors(stored: Any, new: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``stored`` entries (the record's, of any shape) with ``new`` ones, one per try, by try number."""
    by_try: dict[Any, dict[str, Any]] = {}
    for entry in [*(stored if isinstance(stored, list) else ()), *new]:
        if isinstance(entry, Mapping) and isinstance(entry.get("try"), int):
            by_try[entry["try"]] = dict(entry)
    return [by_try[t] for t in sorted(by_try)]


def _max_tries(record: Any) -> int:
    try:
        return max_tries(record.alias, record.name)
    except ImproperlyConfigured:  # the alias is gone from the settings, or broken (the checks say so)
        return MAX_TRIES


def _clock(time: datetime) -> str:
    local = timezone.localtime(time) if timezone.is_aware(time) else time
    today = (timezone.localtime(datetime.now(UTC)) if timezone.is_aware(time) else datetime.now()).date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%Y-%m-%d %H:%M:%S")


def try_status(record: Any) -> str:
    """Where a job stands in its tries, in words; "" for a job on its only try so far."""
    job_try, status = record.job_try or 0, record.status
    if status == JobStatus.in_progress.value and job_try > 1:
        return f"running, try {job_try} of {_max_tries(record)}"
    if status in (JobStatus.deferred.value, JobStatus.queued.value) and record.next_try_at is not None:
        return f"retrying, try {job_try + 1} of {_max_tries(record)}, next at {_clock(record.next_try_at)}"
    if status == JobStatus.queued.value and job_try >= 1:  # put back at once: its worker was lost
        return f"re-queued, try {job_try + 1} of {_max_tries(record)}"
    if status == JobStatus.complete.value and job_try > 1:
        outcome = "succeeded" if record.success else "failed"
        return f"{outcome} on try {job_try} of {_max_tries(record)}"
    return ""


def tries_json(record: Any) -> dict[str, Any]:
    """The fields the HTTP API and ``arq_job`` add to a job: ``try_status``, ``next_try_at`` and
    ``try_errors`` (empty, and None, for a job without a record)."""
    if record is None:
        return {"try_status": "", "next_try_at": None, "try_errors": []}
    next_at = record.next_try_at
    return {
        "try_status": try_status(record),
        "next_try_at": None if next_at is None else next_at.isoformat(),
        "try_errors": merged_try_errors(record.try_errors, ()),
    }
