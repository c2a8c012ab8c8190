"""Bulk updates of the status fields of existing JobRecords: the worker's usual write.

A worker changes only a record's status fields, so it sends only those, not whole rows through an
upsert. The rows go into a temporary staging table (PostgreSQL: ``COPY``; SQLite: one prepared
``INSERT`` run for each row), each with a bit mask of the fields it sets (the others keep their
value), and one ``UPDATE ... FROM`` the staging table applies them. The records missing are
those the update did not reach: on PostgreSQL the update returns the ids it updated, since a
record another transaction commits between the update and a later query would be found there
while its update was lost (the caller then creates the missing ones with an upsert that updates
any that appeared meanwhile); SQLite, whose writers take turns, names them in a query run only
if the update reached fewer records than it got. Other databases (and SQLite before 3.33,
without ``UPDATE ... FROM``) update record by record.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any

from django.db import connections, models, transaction

from .payloads import JsonText

__all__ = ["STATUS_FIELDS", "update_records"]

#: The fields a worker changes, in the order of the staged columns (after ``job`` and ``mask``).
STATUS_FIELDS = (
    "status",
    "start_time",
    "job_try",
    "finish_time",
    "success",
    "result",
    "error",
    "progress",
    "worker_id",
    "try_errors",
    "next_try_at",
)
BITS = {name: 1 << i for i, name in enumerate(STATUS_FIELDS)}


@dataclass(frozen=True)
class Plan:
    """The statements of one database, and how it takes the values of the status fields."""

    prepare: tuple[str, ...]  # an empty staging table (run every time: a rollback may have dropped it)
    stage: str  # PostgreSQL: the COPY; SQLite: the INSERT of one row
    update: str
    missing: str | None  # the query naming the missing records; None if the update returns the ids it updated
    adapters: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position in a row, adapter) if needed


@cache
def _plan(using: str) -> Plan:
    from ..models import JobRecord

    connection = connections[using]
    quote = connection.ops.quote_name
    postgresql = connection.vendor == "postgresql"
    ops = connection.ops
    model_fields = {field.name: field for field in JobRecord._meta.concrete_fields}
    columns = {name: quote(model_fields[name].column or name) for name in STATUS_FIELDS}
    table = quote(JobRecord._meta.db_table)
    stage = quote(f"{JobRecord._meta.db_table}_status_stage")
    job, mask, alias, job_id = (quote(name) for name in ("job", "mask", "alias", "job_id"))
    fields = ", ".join(columns.values())
    staged = f"{job}, {mask}, {fields}"
    sets = ", ".join(
        f"{column} = CASE WHEN (s.{mask} & {BITS[f]}) = 0 THEN r.{column} ELSE s.{column} END"
        for f, column in columns.items()
    )
    update = (
        f"UPDATE {table} AS r SET {sets}, {quote('updated_at')} = %s FROM {stage} AS s "  # noqa: S608
        f"WHERE r.{alias} = %s AND r.{job_id} = s.{job}"
    )
    adapters: list[tuple[int, Callable[[Any], Any]]] = []
    for i, name in enumerate(STATUS_FIELDS, start=2):
        field = model_fields[name]
        if isinstance(field, models.JSONField) and postgresql:  # COPY takes JSON text as it is
            adapters.append((i, partial(_json, partial(json.dumps, cls=field.encoder))))
        elif isinstance(field, models.JSONField):  # stored as JSON text
            adapters.append((i, partial(_json, partial(ops.adapt_json_value, encoder=field.encoder))))
        elif isinstance(field, models.DateTimeField) and not postgresql:  # psycopg adapts datetimes
            adapters.append((i, _sqlite_datetime(connection)))
    if postgresql:  # typed columns, for COPY to parse
        create = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {job_id} AS {job}, 0 AS {mask}, {fields} FROM {table} WITH NO DATA"
        )
        copy = f"COPY {stage} ({staged}) FROM STDIN"
        return Plan((create,), copy, f"{update} RETURNING r.{job_id}", None, tuple(adapters))
    create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({staged})"  # untyped: values kept as sent
    clear = f"DELETE FROM {stage}"  # noqa: S608
    marks = ", ".join(["%s"] * (2 + len(STATUS_FIELDS)))
    insert = f"INSERT INTO {stage} ({staged}) VALUES ({marks})"  # noqa: S608
    missing = (
        f"SELECT s.{job} FROM {stage} AS s WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {table} AS r WHERE r.{alias} = %s AND r.{job_id} = s.{job})"
    )
    return Plan((create, clear), insert, update, missing, tuple(adapters))


def _json(dumps: Callable[[Any], Any], value: Any) -> Any:
    """A value as JSON text; JSON text from ``json_text`` as it is."""
    return str(value) if isinstance(value, JsonText) else dumps(value)


def _loaded(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with their JSON text loaded, for ``QuerySet.update`` (whose JSONFields encode values)."""
    return {name: json.loads(v) if isinstance(v, JsonText) else v for name, v in fields.items()}


def _sqlite_datetime(connection: Any) -> Callable[[datetime], Any]:
    """Django's SQLite datetime adapter, with a short cut for times in the database's time zone."""
    tz, adapt = connection.timezone, connection.ops.adapt_datetimefield_value

    def adapted(value: datetime) -> Any:
        return str(value.replace(tzinfo=None)) if value.tzinfo is tz else adapt(value)

    return adapted


def _rows(plan: Plan, updates: Mapping[str, Mapping[str, Any]]) -> list[list[Any]]:
    rows = []
    for job_id, fields in updates.items():
        row = [job_id, sum(map(BITS.__getitem__, fields)), *map(fields.get, STATUS_FIELDS)]
        for i, adapt in plan.adapters:
            if row[i] is not None:
                row[i] = adapt(row[i])
        rows.append(row)
    return rows


def update_records(
    using: str, alias: str, updates: Mapping[str, Mapping[str, Any]], now: datetime
) -> set[str]:
    """Set the given status fields (job id -> {field: value}) and ``updated_at`` of ``alias``'s
    records; the ids of those that do not exist. One transaction (the caller's, if it has one)."""
    from ..models import JobRecord

    if not updates:
        return set()
    connection = connections[using]
    if connection.vendor != "postgresql" and (
        connection.vendor != "sqlite" or sqlite3.sqlite_version_info < (3, 33)
    ):
        records = JobRecord.objects.using(using).filter(alias=alias)
        with transaction.atomic(using=using, savepoint=False):
            return {
                job_id
                for job_id, fields in updates.items()
                if not records.filter(job_id=job_id).update(**_loaded(fields), updated_at=now)
            }
    plan = _plan(using)
    rows = _rows(plan, updates)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        for sql in plan.prepare:
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            with cursor.copy(plan.stage) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(plan.stage, rows)
        cursor.execute(plan.update, [connection.ops.adapt_datetimefield_value(now), alias])
        if plan.missing is None:
            return set(updates).difference(job_id for (job_id,) in cursor.fetchall())
        if cursor.rowcount == len(rows):
            return set()
        cursor.execute(plan.missing, [alias])
        return {job_id for (job_id,) in cursor.fetchall()}
