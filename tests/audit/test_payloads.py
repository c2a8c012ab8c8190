"""json_text gives the JSON of jsonable, whichever path makes it, and records keep it as it is."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from django_arq.audit.inserts import COPY_MIN_ROWS, upsert_records
from django_arq.audit.payloads import JsonText, json_text, jsonable
from django_arq.models import JobRecord


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque>"


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


cycle: list[Any] = [1]
cycle.append(cycle)

VALUES = [
    (1, "two", None, True, 2.5),
    {"when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "day": dt.date(2024, 1, 2)},
    [Decimal("1.10"), uuid.UUID(int=7), Opaque(), ValueError("bad")],
    {True: 1, None: 2, 1.5: 3, 7: 4, (1, 2): 5},  # keys json.dumps writes, and one it refuses
    [float("nan"), {"inner": float("inf")}],  # NaN is not JSON: the slow path makes it readable
    cycle,  # the C encoder refuses it: jsonable cuts it at MAX_DEPTH
    'tab\tnewline\n backslash\\ quote" unicode é ☃',
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_json_text_is_the_json_of_jsonable(value: Any) -> None:
    text = json_text(value)
    assert isinstance(text, JsonText)
    assert json.loads(text) == jsonable(value)


def test_json_text_keeps_nesting_the_c_encoder_can_write() -> None:
    """Deeper than jsonable's MAX_DEPTH but not a cycle: kept whole (jsonable would cut it)."""
    assert json.loads(json_text({"deep": nested(40)})) == {"deep": nested(40)}


def test_keys_are_written_as_json_writes_them() -> None:
    assert jsonable({True: 1, None: 2, 1.5: 3, 7: 4, (1, 2): 5}) == {
        "true": 1, "null": 2, "1.5": 3, "7": 4, "(1, 2)": 5,
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("count", [1, COPY_MIN_ROWS])  # one statement; COPY on PostgreSQL
def test_records_store_json_text_as_the_json_it_is(count: int) -> None:
    args = json_text([v for v in VALUES if v is not cycle])  # escapes, unicode, readable reprs
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    common = {"alias": "default", "name": "n", "args": args, "enqueue_time": when, "queue_name": "q"}
    rows = [{"job_id": f"p{i}", "kwargs": json_text({"k": [i]}), **common} for i in range(count)]
    upsert_records("default", rows)
    record = JobRecord.objects.get(job_id=f"p{count - 1}")
    assert record.args == json.loads(args)  # a list, not a string holding JSON
    assert record.kwargs == {"k": [count - 1]}
    assert JobRecord.objects.filter(kwargs__k__0=count - 1).count() == 1  # queryable as JSON
