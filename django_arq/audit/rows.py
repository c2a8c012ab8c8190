"""JobRecord rows of jobs, made storable by every database, and the database they are written to.

Whatever a caller or a job sends, a record can be stored: in text columns a NUL character or a
lone surrogate (PostgreSQL refuses the first, UTF-8 the second) becomes U+FFFD, the replacement
character, and text longer than its column is cut to fit, ending in "…"; a job id cut so ends in
"…" and a digest of the whole id, so that two long ids stay two records, and both the enqueue side
and the worker find the record under it. JSON columns follow ``payloads.json_text``. A row that
the database refuses all the same is written in its ``safe_row`` form.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from django.db import connections, router

from ..queues.jobs import JobMetadata
from ..queues.text import ELLIPSIS, storable_text
from .payloads import JsonText, json_text

__all__ = [
    "Database",
    "database_of",
    "describe_row",
    "record_rows",
    "records_db",
    "safe_row",
    "storable_fields",
    "storable_id",
]

#: Stand for JSON values that the database refused, in a row's safe form.
NOT_STORABLE = JsonText('{"repr": "<not storable>"}')
NOT_STORABLE_ARGS = JsonText('[{"repr": "<not storable>"}]')

#: Identifies a database: its ENGINE, NAME, HOST and PORT settings, or None if it is not configured.
Database = tuple[Any, ...] | None


@cache
def _max_lengths() -> dict[str, int | None]:
    """The attname -> ``max_length`` of every text column of JobRecord (None: unbounded)."""
    from django.db import models

    from ..models import JobRecord

    return {
        field.attname: getattr(field, "max_length", None)
        for field in JobRecord._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField)
    }


def storable_id(job_id: str) -> str:
    """A job id as its record stores it: as it is, unless it holds unstorable text or is too long."""
    max_length = _max_lengths()["job_id"] or len(job_id) + 11
    if job_id.isascii() and "\x00" not in job_id and len(job_id) <= max_length:
        return job_id
    digest = hashlib.sha256(job_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    text = storable_text(job_id)
    return text if len(text) <= max_length else f"{text[: max_length - 11]}{ELLIPSIS}{digest}"


def _text(name: str, text: str) -> str:
    max_length = _max_lengths()[name]
    if text.isascii() and "\x00" not in text and (max_length is None or len(text) <= max_length):
        return text
    return storable_text(text, max_length)


def record_rows(alias: str, jobs: Sequence[JobMetadata]) -> list[dict[str, Any]]:
    """The JobRecord fields of freshly enqueued jobs, as ``upsert_records`` takes them."""
    return [
        {
            "job_id": storable_id(m.id),
            "name": _text("name", m.name),
            "args": json_text(m.args),
            "kwargs": json_text(dict(m.kwargs)),
            "enqueue_time": m.enqueue_time,
            "status": m.status.value,
            "queue_name": _text("queue_name", m.queue_name),
            "alias": alias,
            "trace_id": m.trace_id or "",
        }
        for m in jobs
    ]


def storable_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Record fields with their text storable (job id excepted: see ``storable_id``)."""
    lengths = _max_lengths()
    return {
        name: _text(name, value) if name in lengths and name != "job_id" and isinstance(value, str) else value
        for name, value in fields.items()
    }


def safe_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row every database takes: text ASCII-escaped (``\\x00``, ``\\ud800``), JSON values replaced
    by ``{"repr": "<not storable>"}``. The job id and alias are kept: they find the record."""
    lengths = _max_lengths()
    safe = {}
    for name, value in row.items():
        if name in ("job_id", "alias") or value is None:
            safe[name] = value
        elif name == "args":
            safe[name] = NOT_STORABLE_ARGS
        elif isinstance(value, JsonText) or name in ("kwargs", "result"):
            safe[name] = NOT_STORABLE
        elif isinstance(value, str):
            escaped = value.encode("ascii", "backslashreplace").decode("ascii").replace("\x00", "\\x00")
            safe[name] = storable_text(escaped, lengths.get(name))
        else:
            safe[name] = value
    return safe


def describe_row(row: Mapping[str, Any]) -> str:
    """Names a row's record in logs."""
    return f"alias {row['alias']!r}, job {row['job_id']!r}"


def records_db() -> str:
    """The database JobRecords are written to (``DATABASE_ROUTERS`` decide)."""
    from ..models import JobRecord

    return router.db_for_write(JobRecord)


def database_of(using: str) -> Database:
    """What identifies the database of alias ``using`` now: a test run renames it, for example."""
    config = connections.settings.get(using)
    if config is None:
        return None
    return (config.get("ENGINE"), config.get("NAME"), config.get("HOST"), config.get("PORT"))
