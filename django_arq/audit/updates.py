"""Bulk updates of the status fields of existing JobRecords: the worker's usual write.

A worker changes only a record's status fields, so it sends only those, not whole rows through an
upsert. The rows go into a temporary staging table (PostgreSQL: ``COPY``; SQLite: one prepared
``INSERT`` run for each row), each with a bit mask of the fields it sets (the others keep their
value), and one ``UPDATE ... FROM`` the staging table applies them. The records missing are
those the update did not reach: on PostgreSQL the update returns the ids it updated, since a
record another transaction commits between the update and a later query would be found there
while its update was lost (the caller then creates the missing ones, and updates
any that appeared meanwhile); SQLite, whose writers take turns, names them in a query run only
if the update reached fewer records than it got. Other databases (and SQLite before 3.33,
without ``UPDATE ... FROM``) update record by record.

Updates of one job can come from several workers: a try that ended and was put back in the queue
(a ``Retry``) may run again at once on another worker, whose record of the next try can be written
before the first worker's. An update that says which try of which enqueue it is about
(``TryOf``) therefore leaves the status fields of a record at a later try of the same enqueue (its
``enqueue_time``) as they are, and only adds its try errors: a record is never set back to an
earlier try. A job id enqueued again (after arq forgot the first job) has another enqueue time:
an update that says which enqueue it is about reaches only that enqueue's record. The record of
an earlier enqueue counts as missing, and the caller's insert replaces it whole; that of a later
one is left as it is (the earlier job's write came late).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Any, NamedTuple

from django.db import connections, models, transaction
from django.db.models import Case, F, Q, Value, When

from ..fields import time_adapter
from .payloads import JsonText

__all__ = ["STATUS_FIELDS", "TryOf", "update_records"]

#: The fields a worker changes, in the order of the staged columns (after the ``LEADING`` ones).
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
#: The fields an update of an earlier try adds to rather than replaces.
ADDED_TO = frozenset({"try_errors"})
#: Staged columns before the status fields: the job id, the mask of the fields set, its ``TryOf``.
LEADING = 4


class TryOf(NamedTuple):
    """Which try of which enqueue of a job an update is about."""

    job_try: int
    enqueue_time: datetime


@dataclass(frozen=True)
class Plan:
    """The statements of one database, and how it takes the values of the status fields."""

    prepare: tuple[str, ...]  # an empty staging table (run every time: a rollback may have dropped it)
    stage: str  # PostgreSQL: the COPY; SQLite: the INSERT of one row
    update: str
    missing: str | None  # the query naming the missing records; None if the update returns the ids it updated
    adapters: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position in a row, adapter) if needed
    times: tuple[int, ...]  # positions of the times to adapt with the caller's connection (SQLite)


@cache
def _plan(using: str) -> Plan:
    from ..models import JobRecord

    connection = connections[using]
    quote = connection.ops.quote_name
    postgresql = connection.vendor == "postgresql"
    ops = connection.ops
    model_fields = _model_fields()
    columns = {name: quote(model_fields[name].column or name) for name in STATUS_FIELDS}
    table = quote(JobRecord._meta.db_table)
    # Named anew when its columns change: a pooled server session may keep an older shape's table.
    stage = quote(f"{JobRecord._meta.db_table}_status_stage2")
    job, mask, alias, job_id = (quote(name) for name in ("job", "mask", "alias", "job_id"))
    fields = ", ".join(columns.values())
    tried, enqueued = quote("tried"), quote("enqueued")
    staged = f"{job}, {mask}, {tried}, {enqueued}, {fields}"
    # an update of an earlier try of the same enqueue (a NULL comparison: not earlier)
    earlier = f"(r.{columns['job_try']} > s.{tried} AND r.{quote('enqueue_time')} = s.{enqueued})"
    sets = ", ".join(
        f"{column} = CASE WHEN (s.{mask} & {BITS[f]}) = 0"
        f"{'' if f in ADDED_TO else f' OR {earlier}'} THEN r.{column} ELSE s.{column} END"
        for f, column in columns.items()
    )
    # a record of another enqueue of the job id is not reached: missing, the caller's insert
    # replaces it if it is of an earlier enqueue, and leaves it if of a later one
    current = f"(s.{enqueued} IS NULL OR r.{quote('enqueue_time')} = s.{enqueued})"
    update = (
        f"UPDATE {table} AS r SET {sets}, {quote('updated_at')} = %s FROM {stage} AS s "  # noqa: S608
        f"WHERE r.{alias} = %s AND r.{job_id} = s.{job} AND {current}"
    )
    adapters: list[tuple[int, Callable[[Any], Any]]] = []
    times = [] if postgresql else [LEADING - 1]  # the enqueue time of a row's TryOf; psycopg adapts times
    for i, name in enumerate(STATUS_FIELDS, start=LEADING):
        field = model_fields[name]
        if isinstance(field, models.JSONField) and postgresql:  # COPY takes JSON text as it is
            adapters.append((i, partial(_json, partial(json.dumps, cls=field.encoder))))
        elif isinstance(field, models.JSONField):  # stored as JSON text
            adapters.append((i, partial(_json, partial(ops.adapt_json_value, encoder=field.encoder))))
        elif isinstance(field, models.DateTimeField) and not postgresql:
            times.append(i)
    if postgresql:  # typed columns, for COPY to parse
        create = (
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {job_id} AS {job}, 0 AS {mask}, {columns['job_try']} AS {tried}, "
            f"{quote('enqueue_time')} AS {enqueued}, {fields} FROM {table} WITH NO DATA"
        )
        copy = f"COPY {stage} ({staged}) FROM STDIN"
        return Plan((create,), copy, f"{update} RETURNING r.{job_id}", None, tuple(adapters), ())
    create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({staged})"  # untyped: values kept as sent
    clear = f"DELETE FROM {stage}"  # noqa: S608
    marks = ", ".join(["%s"] * (LEADING + len(STATUS_FIELDS)))
    insert = f"INSERT INTO {stage} ({staged}) VALUES ({marks})"  # noqa: S608
    missing = (
        f"SELECT s.{job} FROM {stage} AS s WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {table} AS r WHERE r.{alias} = %s AND r.{job_id} = s.{job} AND {current})"
    )
    return Plan((create, clear), insert, update, missing, tuple(adapters), tuple(times))


@cache
def _model_fields() -> dict[str, models.Field[Any, Any]]:
    from ..models import JobRecord

    return {field.name: field for field in JobRecord._meta.concrete_fields}


def _json(dumps: Callable[[Any], Any], value: Any) -> Any:
    """A value as JSON text; JSON text from ``json_text`` as it is."""
    return str(value) if isinstance(value, JsonText) else dumps(value)


def _guarded(fields: Mapping[str, Any], of: TryOf | None) -> dict[str, Any]:
    """``fields`` for ``QuerySet.update``, each kept as it is on a record at a later try of ``of``'s
    enqueue (the bulk statement's guard, as expressions)."""
    values = _loaded(fields)
    if of is None:
        return values
    earlier = Q(job_try__gt=of.job_try, enqueue_time=of.enqueue_time)
    return {
        name: value
        if name in ADDED_TO
        else Case(When(earlier, then=F(name)), default=Value(value, _model_fields()[name]))
        for name, value in values.items()
    }


def _current(records: models.QuerySet[Any], of: TryOf | None, replaced: bool) -> models.QuerySet[Any]:
    """``records`` of ``of``'s enqueue only, if ``replaced``."""
    return records.filter(enqueue_time=of.enqueue_time) if of is not None and replaced else records


def _loaded(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with their JSON text loaded, for ``QuerySet.update`` (whose JSONFields encode values)."""
    return {name: json.loads(v) if isinstance(v, JsonText) else v for name, v in fields.items()}


def _rows(
    plan: Plan,
    updates: Mapping[str, Mapping[str, Any]],
    tries: Mapping[str, TryOf],
    adapt_time: Callable[[datetime], Any],
) -> list[list[Any]]:
    rows = []
    for job_id, fields in updates.items():
        of = tries.get(job_id)
        row = [
            job_id,
            sum(map(BITS.__getitem__, fields)),
            *(of or (None, None)),
            *map(fields.get, STATUS_FIELDS),
        ]
        for i, adapt in plan.adapters:
            if row[i] is not None:
                row[i] = adapt(row[i])
        for i in plan.times:
            if row[i] is not None:
                row[i] = adapt_time(row[i])
        rows.append(row)
    return rows


def update_records(
    using: str,
    alias: str,
    updates: Mapping[str, Mapping[str, Any]],
    now: datetime,
    tries: Mapping[str, TryOf] | None = None,
) -> set[str]:
    """Set the given status fields (job id -> {field: value}) and ``updated_at`` of ``alias``'s
    records, but only add to those of a record at a later try of the update's enqueue (job id ->
    ``TryOf``, where known); the ids of the records that do not exist, or are of another enqueue
    than the update's. One transaction (the caller's, if it has one)."""
    from ..models import JobRecord

    if not updates:
        return set()
    tries = tries or {}
    connection = connections[using]
    if connection.vendor != "postgresql" and (
        connection.vendor != "sqlite" or sqlite3.sqlite_version_info < (3, 33)
    ):
        records = JobRecord.objects.using(using).filter(alias=alias)
        # as the bulk statement, where the caller's insert can replace the record of an earlier enqueue
        replaced = connection.features.supports_update_conflicts_with_target
        with transaction.atomic(using=using, savepoint=False):
            return {
                job_id
                for job_id, fields in updates.items()
                if not _current(records.filter(job_id=job_id), tries.get(job_id), replaced).update(
                    **_guarded(fields, tries.get(job_id)), updated_at=now
                )
            }
    plan = _plan(using)
    adapt_time = time_adapter(connection)
    rows = _rows(plan, updates, tries, adapt_time)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        for sql in plan.prepare:
            cursor.execute(sql)
        if connection.vendor == "postgresql":
            with cursor.copy(plan.stage) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(plan.stage, rows)
        cursor.execute(plan.update, [adapt_time(now), alias])
        if plan.missing is None:
            return set(updates).difference(job_id for (job_id,) in cursor.fetchall())
        if cursor.rowcount == len(rows):
            return set()
        cursor.execute(plan.missing, [alias])
        return {job_id for (job_id,) in cursor.fetchall()}
