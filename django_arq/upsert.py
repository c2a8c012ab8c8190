"""Bulk upsert of JobRecords on (alias, job_id), cheap enough for a worker's every job.

``bulk_create(update_conflicts=True)`` spends most of its time preparing each field of each
model instance. Rows here are plain dicts whose values need no conversion besides datetimes and
JSON, so on databases with ``INSERT ... ON CONFLICT (...) DO UPDATE`` (PostgreSQL, SQLite) they
are adapted with the backend's own adapters and sent with one ``executemany``. Other databases
go through ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from django.db import connections, models
from django.utils import timezone

__all__ = ["upsert_records"]


def _defaults(now: Any) -> dict[str, Any]:
    return {
        "args": [],
        "kwargs": {},
        "status": "queued",
        "start_time": None,
        "finish_time": None,
        "success": None,
        "result": None,
        "error": "",
        "job_try": 0,
        "abort_requested_at": None,
        "abort_requested_by": "",
        "retry_of_id": None,
        "created_at": now,
        "updated_at": now,
    }


@cache
def _columns(using: str) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    """(attname, quoted column, adapter) for every concrete field but the primary key."""
    from .models import JobRecord

    connection = connections[using]
    ops = connection.ops
    columns = []
    for field in JobRecord._meta.concrete_fields:
        if field.primary_key:
            continue
        adapt: Callable[[Any], Any]
        if isinstance(field, models.DateTimeField):
            adapt = _memo(ops.adapt_datetimefield_value)
        elif isinstance(field, models.JSONField):
            encoder = field.encoder

            def adapt(value: Any, encoder: Any = encoder) -> Any:
                return None if value is None else ops.adapt_json_value(value, encoder)

        else:

            def adapt(value: Any) -> Any:
                return value

        columns.append((field.attname, ops.quote_name(field.column or field.attname), adapt))
    return tuple(columns)


def _memo(adapt: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``adapt`` remembering its latest answer: a batch repeats the same times (``updated_at``, ...)."""
    last: list[tuple[Any, Any]] = [(object(), None)]

    def adapted(value: Any) -> Any:
        seen, answer = last[0]  # one tuple: safe if threads share this
        if value is not seen:
            answer = adapt(value)
            last[0] = (value, answer)
        return answer

    return adapted


def upsert_records(using: str, rows: Sequence[Mapping[str, Any]], update: Iterable[str]) -> None:
    """Insert ``rows`` (dicts of field values with ``alias`` and ``job_id``), or update ``update``
    (plus ``updated_at``) of the records that exist. Call inside a transaction."""
    from .models import JobRecord

    if not rows:
        return
    fields = sorted({*update, "updated_at"})
    connection = connections[using]
    now = timezone.now()
    defaults = _defaults(now)
    if not connection.features.supports_update_conflicts_with_target:
        objs = [JobRecord(**{**defaults, **row, "updated_at": now}) for row in rows]
        JobRecord.objects.using(using).bulk_create(
            objs, update_conflicts=True, unique_fields=["alias", "job_id"], update_fields=fields
        )
        return
    columns = _columns(using)
    quote = connection.ops.quote_name
    names = ", ".join(column for _, column, _ in columns)
    marks = ", ".join(["%s"] * len(columns))
    sets = ", ".join(f"{quote(f)} = EXCLUDED.{quote(f)}" for f in fields)
    sql = (
        f"INSERT INTO {quote(JobRecord._meta.db_table)} ({names}) VALUES ({marks}) "  # noqa: S608 - quoted names
        f"ON CONFLICT ({quote('alias')}, {quote('job_id')}) DO UPDATE SET {sets}"
    )
    params = []
    for row in rows:
        values = {**defaults, **row, "updated_at": now}
        params.append([adapt(values[name]) for name, _, adapt in columns])
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
