"""The micro-optimisations fall back cleanly: CPython's C JSON encoder, and hand-made SQL that must
know every field of JobRecord."""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
from typing import Any

import pytest
from django.db import models

from django_arq.audit import payloads
from django_arq.audit.inserts import _defaults, upsert_records
from django_arq.audit.updates import STATUS_FIELDS
from django_arq.models import JobRecord
from tests.audit.test_payloads import VALUES, cycle

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def broken_make_encoder(*args: Any) -> Any:
    raise TypeError("c_make_encoder() takes other arguments now")


def wrong_make_encoder(*args: Any) -> Any:
    return lambda value, indent: iter(["[]"])  # writes something else


@pytest.mark.parametrize("make", [None, broken_make_encoder, wrong_make_encoder])
def test_without_a_working_c_encoder_json_text_writes_the_same(
    make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = [payloads.json_text(value) for value in VALUES if value is not cycle]
    monkeypatch.setattr(json.encoder, "c_make_encoder", make)  # None where CPython has no accelerator
    encode = payloads._c_encoder()
    assert made_by(encode) == "_python_encoder"
    monkeypatch.setattr(payloads, "_encode", encode)
    assert [payloads.json_text(value) for value in VALUES if value is not cycle] == expected
    assert json.loads(payloads.json_text(cycle)) == payloads.jsonable(cycle)


def test_the_c_encoder_is_used_where_it_works() -> None:
    assert made_by(payloads._encode) == "_c_encoder"
    assert made_by(payloads._c_encoder()) == "_c_encoder"


def made_by(encode: Any) -> str:
    """The function of ``payloads`` that made ``encode`` (also under mutmut, whose copies of a
    function are named ``x_<name>__mutmut_<n>``)."""
    maker = getattr(encode, "__qualname__", "").split(".<locals>")[0]
    return maker.removeprefix("x_").split("__mutmut_")[0]


#: Every JobRecord field, by who writes it. A new field fails ``test_every_field_is_handled``
#: until it is placed here, and the insert (defaults from ``_meta``) or the worker's update
#: (``STATUS_FIELDS``) handles it.
GIVEN_ON_INSERT = {
    "job_id", "alias", "name", "args", "kwargs", "enqueue_time", "queue_name", "status", "trace_id",
}  # fmt: skip
WORKER_UPDATES = set(STATUS_FIELDS)
SET_ELSEWHERE = {
    "id", "abort_requested_at", "abort_requested_by", "retry_of", "created_at", "updated_at",
    "try_errors",  # also appended to by audit.lost (a lost worker's try), besides the worker's updates
}  # fmt: skip
#: Fields of migration 0004, until the features that write them (progress, retries, worker
#: heartbeats) move each to the set above that writes it.
NOT_YET_WRITTEN: set[str] = set()
#: Field classes the hand-made INSERT, COPY and staged UPDATE know how to write.
WRITABLE = (
    models.BigAutoField,
    models.CharField,
    models.TextField,
    models.JSONField,
    models.DateTimeField,
    models.BooleanField,
    models.PositiveIntegerField,
    models.ForeignKey,
)


def test_every_field_is_handled() -> None:
    fields = {field.name for field in JobRecord._meta.concrete_fields}
    assert fields == GIVEN_ON_INSERT | WORKER_UPDATES | SET_ELSEWHERE | NOT_YET_WRITTEN, (
        "classify the new field here"
    )
    unknown = [f.name for f in JobRecord._meta.concrete_fields if not isinstance(f, WRITABLE)]
    assert unknown == [], "teach inserts.py and updates.py to write these fields"


def test_insert_defaults_are_the_models() -> None:
    """A row without a field gets the model's default: what ``JobRecord()`` would get."""
    defaults = _defaults(T0)
    instance = JobRecord()
    for field in JobRecord._meta.concrete_fields:
        if field.primary_key or field.name in ("job_id", "name", "enqueue_time", "queue_name"):
            continue
        expected = T0 if field.name in ("created_at", "updated_at") else getattr(instance, field.attname)
        assert defaults[field.attname] == expected, field.name


@pytest.mark.django_db(transaction=True)
def test_a_minimal_row_is_stored_with_the_model_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    row = {"job_id": "m1", "alias": "default", "name": "n", "enqueue_time": T0, "queue_name": "q"}
    upsert_records("default", [row])
    record = JobRecord.objects.get(job_id="m1")
    blank = JobRecord()
    for field in JobRecord._meta.concrete_fields:
        if field.name not in {"id", "created_at", "updated_at", *row}:
            assert getattr(record, field.attname) == getattr(blank, field.attname), field.name
