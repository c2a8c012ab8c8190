"""Bulk insert-or-update of JobRecords on (alias, job_id), cheap enough for every job.

``bulk_create(update_conflicts=True)`` spends most of its time preparing each field of each
model instance. Rows here are plain dicts whose values need no conversion besides datetimes and
JSON, so on databases with ``INSERT ... ON CONFLICT (...) DO UPDATE`` (PostgreSQL, SQLite) they
are sent as multi-row ``INSERT ... VALUES`` statements (as many rows per statement as the
parameter limit allows, several statements in one transaction); on PostgreSQL, batches of
``COPY_MIN_ROWS`` or more are copied (``COPY``): new records straight into the table, and, if one
of them exists already or fields are to be updated, into a temporary staging table from which one
``INSERT ... SELECT ... ON CONFLICT`` writes them. Other databases go through ``bulk_create``.

The ``COPY`` text is written here, not by psycopg's ``write_row``: psycopg looks up a dumper for
each of a row's values, while most of them are the same in every row (defaults, the batch's
times) and are formatted once per batch here; that halves the cost of formatting a batch.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from functools import cache, partial
from typing import Any

from django.db import IntegrityError, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils import timezone

from ..fields import storable_time, time_adapter
from .payloads import JsonText

__all__ = ["upsert_records"]

#: Parameters per statement where the backend sets no limit.
MAX_PARAMS = 65535
#: From this many rows on, PostgreSQL gets them through COPY.
COPY_MIN_ROWS = 20
#: Rows per piece of a COPY sent to the server.
COPY_CHUNK = 100


def _defaults(now: Any) -> dict[str, Any]:
    """The value of each column a row does not give: ``now`` for the ``auto_now`` times, else the
    field's default, else NULL where allowed (the columns without any are given by every row)."""
    times, defaults = _model_defaults()
    return {**defaults, **dict.fromkeys(times, now)}


@cache
def _model_defaults() -> tuple[tuple[str, ...], dict[str, Any]]:
    """JobRecord's ``auto_now``/``auto_now_add`` columns, and the defaults of the others, from ``_meta``."""
    from ..models import JobRecord

    times, defaults = [], {}
    for field in JobRecord._meta.concrete_fields:
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            times.append(field.attname)
        elif field.has_default():
            defaults[field.attname] = field.get_default()  # adapted, never changed: shared safely
        elif field.null:
            defaults[field.attname] = None
    return tuple(times), defaults


#: (attname, quoted column, adapter for statements, COPY text of a value) of each column written.
Columns = tuple[tuple[str, str, Callable[[Any], Any], Callable[[Any], Any]], ...]


@cache
def _columns(using: str) -> Columns:
    """(attname, quoted column, adapter for statements, COPY text of a value) of every field but the key."""
    from ..models import JobRecord

    connection = connections[using]
    ops = connection.ops
    columns = []
    for field in JobRecord._meta.concrete_fields:
        if field.primary_key:
            continue
        adapt: Callable[[Any], Any] = _same
        copy: Callable[[Any], str] = _copy_text
        if isinstance(field, models.DateTimeField):
            adapt = _memo(time_adapter(connection))
            copy = _memo(_copy_datetime)
        elif isinstance(field, models.JSONField):
            # Where JSON is stored as ``json.dumps`` makes it (SQLite, ...), JSON text is its own value.
            as_text = ops.adapt_json_value if _adapts_json(ops) else _as_is
            adapt = partial(_json, partial(ops.adapt_json_value, encoder=field.encoder), as_text)
            copy = partial(_copy_json, partial(json.dumps, cls=field.encoder))
        columns.append((field.attname, ops.quote_name(field.column or field.attname), adapt, copy))
    return tuple(columns)


def _same(value: Any) -> Any:
    return value


def _adapts_json(ops: BaseDatabaseOperations) -> bool:
    """Whether the backend adapts JSON values otherwise than Django's default ``json.dumps``."""
    return type(ops).adapt_json_value is not BaseDatabaseOperations.adapt_json_value


def _max_params(connection: BaseDatabaseWrapper) -> int:
    """Parameters per statement. For SQLite, what the library allows (Django 5.2 assumes 999,
    which splits a batch of 1,000 records into 20 statements; Django 6 asks the library too)."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return min(MAX_PARAMS, connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return connection.features.max_query_params or MAX_PARAMS


def _copy_text(value: Any) -> str:
    """A value as ``COPY``'s text format writes it: ``\\N`` for NULL, ``t``/``f``, special
    characters escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_json(dumps: Callable[[Any], str], value: Any) -> str:
    """A JSON column's value as COPY text; JSON text from ``json_text`` is written as it is."""
    if value is None:
        return "\\N"
    return _copy_text(value if isinstance(value, JsonText) else dumps(value))


def _copy_datetime(value: Any) -> str:
    """ISO 8601 with the offset of an aware datetime; PostgreSQL reads a naive one in the
    connection's time zone, as it does psycopg's (a naive one of ``USE_TZ = False`` is given the
    offset of ``TIME_ZONE`` first: ``storable_time``)."""
    return "\\N" if value is None else storable_time(value, True).isoformat()


def _json(adapt: Callable[[Any], Any], adapt_text: Callable[..., Any], value: Any) -> Any:
    """``adapt`` a value for a JSON column; JSON text from ``json_text`` is written as it is."""
    if value is None:
        return None
    return adapt_text(value, _TextEncoder) if isinstance(value, JsonText) else adapt(value)


def _loaded(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with its JSON text loaded, for model instances (whose JSONFields encode values)."""
    return {name: json.loads(v) if isinstance(v, JsonText) else v for name, v in row.items()}


def _as_is(text: JsonText, encoder: type[json.JSONEncoder]) -> str:
    return str(text)


class _TextEncoder(json.JSONEncoder):
    """Writes ``JsonText`` as the JSON it is."""

    def encode(self, o: Any) -> str:
        return str(o) if isinstance(o, JsonText) else super().encode(o)


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
    exist, update the fields named in ``update`` (and ``updated_at``), or, if none are named, leave
    them, but for a record of an earlier enqueue of the job id (an earlier ``enqueue_time``), which
    the row replaces (on databases without a targeted upsert, MySQL say, it is left too)."""
    from ..models import JobRecord

    if not rows:
        return
    rows = _latest_per_record(rows)
    fields = sorted({*update, "updated_at"}) if update else []
    connection = connections[using]
    if not connection.features.supports_update_conflicts_with_target:
        # MySQL and MariaDB: their upsert takes the conflict from any unique key, and Django
        # refuses one named (unique_fields) where the database cannot target it.
        now = timezone.now()
        defaults = _defaults(now)
        objs = [JobRecord(**{**defaults, **_loaded(row), "updated_at": now}) for row in rows]
        conflicts = (
            {"update_conflicts": True, "update_fields": fields} if fields else {"ignore_conflicts": True}
        )
        JobRecord.objects.using(using).bulk_create(objs, **conflicts)
        return
    quote = connection.ops.quote_name
    if fields:
        _insert(using, rows, _on_conflict(quote, "DO UPDATE SET " + _excluded(quote(f) for f in fields)))
    elif _insert(using, rows, _on_conflict(quote, "DO NOTHING")) < len(rows):
        _replace_earlier(using, rows)


def _on_conflict(quote: Callable[[str], str], action: str) -> str:
    """The ``ON CONFLICT`` clause of an insert of records, on their key, with ``action``."""
    return f" ON CONFLICT ({quote('alias')}, {quote('job_id')}) {action}"


def _excluded(columns: Iterable[str]) -> str:
    """``SET`` assignments of the quoted ``columns`` from the row the insert proposed."""
    return ", ".join(f"{column} = EXCLUDED.{column}" for column in columns)


def _latest_per_record(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One row per record, in key order. Of rows of one job id (enqueued, forgotten by arq and
    enqueued again before they were written), that of the latest enqueue (the last given of
    equal ones): PostgreSQL refuses an upsert that reaches a row twice. In key order, whoever
    calls: two transactions inserting overlapping records (the enqueue side's writer, a worker's
    recorder) then wait for each other in one order, never in a cycle."""
    latest: dict[tuple[Any, Any], Mapping[str, Any]] = {}
    for row in rows:
        key = _key(row)
        kept = latest.get(key)
        if kept is None or not _enqueued_before(row, kept):
            latest[key] = row
    return sorted(latest.values(), key=_key)


def _enqueued_before(row: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    try:
        return bool(row["enqueue_time"] < other["enqueue_time"])
    except (KeyError, TypeError):  # a time missing, or naive beside aware: not known to be earlier
        return False


def _key(row: Mapping[str, Any]) -> tuple[Any, Any]:
    return row["alias"], row["job_id"]


def _replace_earlier(using: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Of ``rows`` that met an existing record, those whose record is of another enqueue replace it
    if it is of an earlier one. The records are read first, without locks, so that the upsert
    locks only those it may replace, never a record of the same enqueue that a worker may be
    writing (PostgreSQL locks every row an ``ON CONFLICT DO UPDATE`` meets, its ``WHERE`` true or
    not); the database compares the times, as it stores them. One record per statement: a
    statement holds no lock while it waits for another (a worker's update locks its batch's
    records in its own order). Replacements are rare, and each costs a statement."""
    from ..models import JobRecord

    connection = connections[using]
    by_key = {_key(row): row for row in rows}
    ids = sorted({job_id for _, job_id in by_key})
    aliases = {alias for alias, _ in by_key}
    per_query = max(1, _max_params(connection) - len(aliases))
    records = JobRecord.objects.using(using).filter(alias__in=aliases).order_by()
    others = [
        row
        for i in range(0, len(ids), per_query)
        for alias, job_id, enqueued in records.filter(job_id__in=ids[i : i + per_query]).values_list(
            "alias", "job_id", "enqueue_time"
        )
        if (row := by_key.get((alias, job_id))) is not None and enqueued != row["enqueue_time"]
    ]
    if not others:
        return
    quote = connection.ops.quote_name
    key = (quote("alias"), quote("job_id"))
    sets = _excluded(column for _, column, _, _ in _columns(using) if column not in key)
    table, enqueued = quote(JobRecord._meta.db_table), quote("enqueue_time")
    replace = _on_conflict(quote, f"DO UPDATE SET {sets} WHERE {table}.{enqueued} < EXCLUDED.{enqueued}")
    for row in sorted(others, key=_key):
        _insert(using, [row], replace)


def _insert(using: str, rows: Sequence[Mapping[str, Any]], conflict: str) -> int:
    """Insert ``rows`` (in key order) with the ``ON CONFLICT`` clause ``conflict``; how many were
    inserted or updated (all of them if copied straight into the table)."""
    from ..models import JobRecord

    connection = connections[using]
    columns = _columns(using)
    quote = connection.ops.quote_name
    table = quote(JobRecord._meta.db_table)
    names = ", ".join(column for _, column, _, _ in columns)
    defaults = _defaults(timezone.now())
    if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        copied = partial(_values, rows, columns, defaults, for_copy=True)  # made again if staged
        if conflict.endswith(" DO NOTHING") and _copy_into(using, table, names, copied()):
            return len(rows)
        with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
            stage = quote(f"{JobRecord._meta.db_table}_stage")
            # Every time: a rolled-back transaction takes the table's creation with it.
            create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS SELECT "
            cursor.execute(f"{create}{names} FROM {table} WITH NO DATA")
            _copy(cursor, stage, names, copied())
            order = f" ORDER BY {quote('alias')}, {quote('job_id')}"
            # Emptied as it is read (it empties itself only at commit): a second staged write in
            # the same transaction must not find this one's rows.
            staged = f"WITH staged AS (DELETE FROM {stage} RETURNING {names}) "  # noqa: S608
            insert = f"INSERT INTO {table} ({names}) SELECT {names} FROM staged{order}{conflict}"  # noqa: S608
            cursor.execute(staged + insert)
            return int(cursor.rowcount)
    params = list(_values(rows, columns, defaults, for_copy=False))
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = max(1, _max_params(connection) // len(columns))
    statements = [params[i : i + per_statement] for i in range(0, len(params), per_statement)]
    # One statement needs no transaction of its own; several share one (a single commit).
    batch = transaction.atomic(using=using, savepoint=False) if len(statements) > 1 else nullcontext()
    written = 0
    with batch, connection.cursor() as cursor:
        for chunk in statements:
            sql = f"INSERT INTO {table} ({names}) VALUES {', '.join([marks] * len(chunk))}{conflict}"  # noqa: S608
            cursor.execute(sql, [value for row in chunk for value in row])
            written += cursor.rowcount
    return written


def _values(
    rows: Sequence[Mapping[str, Any]], columns: Columns, defaults: Mapping[str, Any], *, for_copy: bool
) -> Iterator[list[Any]]:
    """Each row's column values in turn, adapted for a statement or as COPY text. A column that no
    row sets (or ``updated_at``, always now) is adapted once, not once per row."""
    given = set().union(*rows) - {"updated_at"}
    template: list[Any] = []
    varying: list[tuple[int, str, Any, Callable[[Any], Any]]] = []
    for i, (name, _, for_statement, copy) in enumerate(columns):
        adapt = copy if for_copy else for_statement
        default = defaults.get(name)  # the key columns have none: every row gives them
        template.append(adapt(default))
        if name in given:
            varying.append((i, name, default, adapt))
    for row in rows:
        row_values = template.copy()
        for i, name, default, adapt in varying:
            row_values[i] = adapt(row.get(name, default))
        yield row_values


def _copy(cursor: Any, table: str, names: str, values: Iterable[list[str]]) -> None:
    """``COPY`` rows of ``values`` in ``COPY`` text into ``table`` (PostgreSQL), in the order given.

    Sent ``COPY_CHUNK`` rows at a time as they are formatted: the server inserts one chunk while
    the next is made (about a sixth faster for 1,000 rows than formatting all, then sending).
    """
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        lines = []
        for row in values:
            lines.append("\t".join(row) + "\n")
            if len(lines) == COPY_CHUNK:
                copy.write("".join(lines))
                lines = []
        copy.write("".join(lines))


def _copy_into(using: str, table: str, names: str, values: Iterable[list[str]]) -> bool:
    """Copy new records straight into the table: False, with nothing written, if one exists already.

    Records are nearly always new (a worker creates a record only if it is still missing a
    ``JobRecorder.flush_interval`` later), so this skips the staging table; on a conflict the
    caller falls back to the staged ``INSERT ... ON CONFLICT``.
    """
    connection = connections[using]
    try:
        with transaction.atomic(using=using), connection.wrap_database_errors, connection.cursor() as cursor:
            _copy(cursor, table, names, values)
    except IntegrityError:
        return False
    return True
