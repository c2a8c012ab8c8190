"""Bulk insert-or-update of JobRecords on (alias, job_id), cheap enough for every job.

``bulk_create(update_conflicts=True)`` spends most of its time preparing each field of each
model instance. Rows here are plain dicts whose values need no conversion besides datetimes and
JSON, so on databases with ``INSERT ... ON CONFLICT (...) DO UPDATE`` (PostgreSQL, SQLite) they
are sent as multi-row ``INSERT ... VALUES`` statements (SQLite's 999-parameter limit allows 52
rows per statement, all in one transaction); on PostgreSQL, batches of ``COPY_MIN_ROWS`` or more
are copied (``COPY``, formatted in C by psycopg) into a temporary staging table and inserted from
there with one ``INSERT ... SELECT ... ON CONFLICT``. Other databases go through ``bulk_create``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from functools import cache, partial
from typing import Any

from django.db import connections, models, transaction
from django.utils import timezone

__all__ = ["upsert_records"]

#: Parameters per statement where the backend sets no limit.
MAX_PARAMS = 65535
#: From this many rows on, PostgreSQL gets them through COPY into a temporary staging table.
COPY_MIN_ROWS = 20


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
def _columns(using: str) -> tuple[tuple[str, str, Callable[[Any], Any], Callable[[Any], Any]], ...]:
    """(attname, quoted column, adapter for statements, adapter for COPY) of every field but the key."""
    from .models import JobRecord

    connection = connections[using]
    ops = connection.ops
    columns = []
    for field in JobRecord._meta.concrete_fields:
        if field.primary_key:
            continue
        adapt: Callable[[Any], Any] = _same
        copy: Callable[[Any], Any] = _same
        if isinstance(field, models.DateTimeField):
            adapt = _memo(ops.adapt_datetimefield_value)
        elif isinstance(field, models.JSONField):
            adapt = partial(_json, partial(ops.adapt_json_value, encoder=field.encoder))
            copy = partial(_json, partial(json.dumps, cls=field.encoder))
        columns.append((field.attname, ops.quote_name(field.column or field.attname), adapt, copy))
    return tuple(columns)


def _same(value: Any) -> Any:
    return value


def _json(adapt: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else adapt(value)


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


def upsert_records(using: str, rows: Sequence[Mapping[str, Any]], update: Iterable[str] = ()) -> None:
    """Insert ``rows`` (dicts of field values with ``alias`` and ``job_id``); for records that
    exist, update the fields named in ``update`` (and ``updated_at``), or leave them if none."""
    from .models import JobRecord

    if not rows:
        return
    # In key order, whoever calls: two transactions inserting overlapping records (the enqueue
    # side's writer, a worker's recorder) then wait for each other in one order, never in a cycle.
    rows = sorted(rows, key=lambda row: (row["alias"], row["job_id"]))
    fields = sorted({*update, "updated_at"}) if update else []
    connection = connections[using]
    now = timezone.now()
    defaults = _defaults(now)
    if not connection.features.supports_update_conflicts_with_target:
        objs = [JobRecord(**{**defaults, **row, "updated_at": now}) for row in rows]
        conflicts = (
            {"update_conflicts": True, "update_fields": fields} if fields else {"ignore_conflicts": True}
        )
        JobRecord.objects.using(using).bulk_create(objs, unique_fields=["alias", "job_id"], **conflicts)
        return
    columns = _columns(using)
    quote = connection.ops.quote_name
    table = quote(JobRecord._meta.db_table)
    names = ", ".join(column for _, column, _, _ in columns)
    sets = ", ".join(f"{quote(f)} = EXCLUDED.{quote(f)}" for f in fields)
    conflict = f" ON CONFLICT ({quote('alias')}, {quote('job_id')}) DO " + (
        f"UPDATE SET {sets}" if fields else "NOTHING"
    )
    full = [{**defaults, **row, "updated_at": now} for row in rows]
    if connection.vendor == "postgresql" and len(full) >= COPY_MIN_ROWS:
        with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
            stage = quote(f"{JobRecord._meta.db_table}_stage")
            # Every time: a rolled-back transaction takes the table's creation with it.
            create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT "
            cursor.execute(f"{create}{names} FROM {table} WITH NO DATA")
            with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
                for values in full:
                    copy.write_row([adapt(values[name]) for name, _, _, adapt in columns])
            order = f" ORDER BY {quote('alias')}, {quote('job_id')}"
            cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage}{order}{conflict}")  # noqa: S608
        return
    params = [[adapt(values[name]) for name, _, adapt, _ in columns] for values in full]
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = max(1, (connection.features.max_query_params or MAX_PARAMS) // len(columns))
    statements = [params[i : i + per_statement] for i in range(0, len(params), per_statement)]
    # One statement needs no transaction of its own; several share one (a single commit).
    batch = transaction.atomic(using=using, savepoint=False) if len(statements) > 1 else nullcontext()
    with batch, connection.cursor() as cursor:
        for chunk in statements:
            sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([marks] * len(chunk))}{conflict}"  # noqa: S608
            cursor.execute(sql, [value for row in chunk for value in row])
