"""What ``audit.payloads`` makes of each kind of value: ``jsonable``, dict keys, ``storable_json``
and ``job_json``, value by value (no database)."""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from django_arq.audit import payloads
from django_arq.audit.payloads import MAX_DEPTH, MAX_INT_BITS, job_json, json_text, jsonable, storable_json
from django_arq.queues.jobs import JobMetadata, JobProgress, JobStatus
from django_arq.queues.serializers import SerializedError

T0 = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
ISO = "2024-01-02T03:04:05+00:00"


class Color(enum.IntEnum):
    RED = 1


class Ratio(float):
    def __repr__(self) -> str:
        return "Ratio!"


class Holder:
    class Error(Exception):
        pass


class BadRepr:
    def __repr__(self) -> str:
        raise ZeroDivisionError


class Unreadable(Exception):
    """Neither ``str`` nor ``repr`` of it can be made; as a dict key, neither can its text."""

    def __str__(self) -> str:
        raise SystemExit("from __str__")

    def __repr__(self) -> str:
        raise AttributeError

    def __hash__(self) -> int:
        return 1


def test_values_whose_own_text_methods_raise_are_described_by_their_class() -> None:
    message = "<Unreadable object; str() raised SystemExit>"
    described = {"exception": f"{__name__}.Unreadable", "message": message}
    assert jsonable(Unreadable()) == described
    assert json.loads(json_text([Unreadable()])) == [described]
    assert jsonable({Unreadable(): 1}) == {"<Unreadable object; str() raised SystemExit>": 1}
    assert jsonable(nested(2, BadRepr())) == [[{"repr": "<BadRepr object; repr() raised ZeroDivisionError>"}]]


def nested(depth: int, inner: Any) -> Any:
    """``inner`` inside ``depth`` lists."""
    for _ in range(depth):
        inner = [inner]
    return inner


@pytest.mark.parametrize("value", [None, True, False, "", "text", 0, -3, 2.5, -0.0])
def test_json_values_pass_through_unchanged(value: Any) -> None:
    result = jsonable(value)
    assert result is value


def test_integers_up_to_max_int_bits_are_kept_longer_ones_described() -> None:
    longest = 2**MAX_INT_BITS - 1
    assert jsonable(longest) is longest
    assert jsonable(-longest) == -longest
    assert jsonable(2**MAX_INT_BITS) == {"repr": f"<int of {MAX_INT_BITS + 1} bits>"}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_floats_json_cannot_hold_are_their_repr(value: float) -> None:
    assert jsonable(value) == {"repr": repr(value)}


def test_containers_nested_up_to_max_depth_are_kept_deeper_ones_cut() -> None:
    assert jsonable(nested(MAX_DEPTH - 1, [])) == nested(MAX_DEPTH - 1, [])
    assert jsonable(nested(MAX_DEPTH, 7)) == nested(MAX_DEPTH, 7)  # scalars past the limit are kept
    assert jsonable(nested(MAX_DEPTH, [])) == nested(MAX_DEPTH, {"repr": "<nested too deeply>"})
    cut = {"k": {"repr": "<nested too deeply>"}}
    assert jsonable(nested(MAX_DEPTH - 1, {"k": ()})) == nested(MAX_DEPTH - 1, cut)
    in_dicts: Any = []
    for _ in range(MAX_DEPTH - 1):
        in_dicts = {"k": in_dicts}
    assert jsonable(in_dicts) == in_dicts
    assert jsonable({"k": in_dicts}) != {"k": in_dicts}


def test_tuples_become_lists_and_dicts_keep_their_values() -> None:
    assert jsonable((1, (2, "x"))) == [1, [2, "x"]]
    assert jsonable({"a": (1,), "b": {"c": None}}) == {"a": [1], "b": {"c": None}}


def test_exceptions_become_their_class_path_and_message() -> None:
    assert jsonable(SerializedError("app.errors.Boom", "it broke")) == {
        "exception": "app.errors.Boom",
        "message": "it broke",
    }
    assert jsonable(ValueError("bad")) == {"exception": "builtins.ValueError", "message": "bad"}
    assert jsonable(Holder.Error("inner")) == {
        "exception": f"{__name__}.Holder.Error",
        "message": "inner",
    }


def test_times_are_iso_8601_and_decimals_and_uuids_strings() -> None:
    assert jsonable(T0) == ISO
    assert jsonable(dt.date(2024, 1, 2)) == "2024-01-02"
    assert jsonable(dt.time(3, 4, 5)) == "03:04:05"
    assert jsonable(Decimal("1.10")) == "1.10"
    assert jsonable(uuid.UUID(int=7)) == "00000000-0000-0000-0000-000000000007"


def test_other_objects_are_their_repr_or_a_description_if_repr_fails() -> None:
    assert jsonable({1, 2}) in ({"repr": "{1, 2}"}, {"repr": "{2, 1}"})
    assert jsonable(BadRepr()) == {"repr": "<BadRepr object; repr() raised ZeroDivisionError>"}


@pytest.mark.parametrize(
    ("key", "written"),
    [
        ("s", "s"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (7, "7"),
        (Color.RED, "1"),
        (1.5, "1.5"),
        (Ratio(0.5), "0.5"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        ((1, 2), "(1, 2)"),
    ],
)
def test_dict_keys_are_written_as_json_dumps_writes_them(key: Any, written: str) -> None:
    assert jsonable({key: 0}) == {written: 0}
    if not isinstance(key, tuple):  # json.dumps refuses tuple keys
        assert json.loads(json.dumps({key: 0})) == {written: 0}


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ('"a\\u0000b"', '"a\\ufffdb"'),
        ('"\\ud800"', '"\\ufffd"'),
        ('"\\udfff x"', '"\\ufffd x"'),
        ('"\\uD800"', '"\\ufffd"'),  # upper-case hex, as other encoders write it
        ('"\\ud83d\\ude00"', '"\\ud83d\\ude00"'),  # a surrogate pair: one character, kept
        ('"\\uD83D\\uDE00"', '"\\uD83D\\uDE00"'),
        ('"\\\\u0000"', '"\\\\u0000"'),  # an escaped backslash, then the text u0000
        ('"\\\\ud800"', '"\\\\ud800"'),
        ('"\\\\\\u0000"', '"\\\\\\ufffd"'),
        ('"\\ud800\\u0041"', '"\\ufffd\\u0041"'),
    ],
)
def test_storable_json_replaces_nul_and_lone_surrogates_only(text: str, stored: str) -> None:
    assert storable_json(text) == stored


def test_storable_json_returns_text_without_such_escapes_as_it_is() -> None:
    text = '{"a": "\\u00e9\\\\"}'
    assert storable_json(text) is text


@pytest.mark.parametrize(
    ("value", "loaded"),
    [
        ("a\x00b", "a\ufffdb"),
        ("\ud800", "\ufffd"),
        ("\U0001f600", "\U0001f600"),
        ({"\x00": "\udc00"}, {"\ufffd": "\ufffd"}),
    ],
)
def test_json_text_is_storable(value: Any, loaded: Any) -> None:
    assert json.loads(json_text(value)) == loaded


def test_job_json_has_every_field_enums_as_values_progress_as_json_and_extra_keys_last() -> None:
    progress = JobProgress(done=2, total=4, fraction=0.5, message="half", time=T0)
    job = JobMetadata(
        "id1", "app.tasks.f", (1, Decimal("2")), {"k": T0}, T0, JobStatus.in_progress, "q",
        progress=progress, trace_id="ab" * 16,
    )  # fmt: skip
    data = job_json(job, status_text="running", args="replaced")
    assert data == {
        "id": "id1",
        "name": "app.tasks.f",
        "args": "replaced",
        "kwargs": {"k": ISO},
        "enqueue_time": ISO,
        "status": "in_progress",
        "queue_name": "q",
        "progress": {
            "done": 2,
            "total": 4,
            "fraction": 0.5,
            "message": "half",
            "time": "2024-01-02T03:04:05+00:00",
        },
        "trace_id": "ab" * 16,
        "status_text": "running",
    }
    assert list(data)[-1] == "status_text"
    assert type(data["status"]) is str  # the enum's value, not the enum
    assert job_json(job)["args"] == [1, "2"]
    json.dumps(data)


def test_job_json_without_progress_gives_none() -> None:
    job = JobMetadata("id2", "f", (), {}, T0, JobStatus.queued, "q")
    data = job_json(job)
    assert data["progress"] is None
    assert data["status"] == "queued"
    assert data["trace_id"] is None


def test_the_c_encoder_writes_what_json_dumps_does_and_refuses_what_it_refuses() -> None:
    encode = payloads._c_encoder()
    assert encode({"b": 1, "a": [2.5, None]}) == '{"b": 1, "a": [2.5, null]}'  # keys in their order
    with pytest.raises(ValueError, match="JSON compliant"):
        encode([float("nan")])
    with pytest.raises(TypeError, match="keys must be"):
        encode({(1, 2): 5, "a": 1})


def test_a_python_without_the_c_encoder_gets_the_python_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(json.encoder, "c_make_encoder")
    assert payloads._c_encoder()({"a": T0}) == '{"a": "2024-01-02T03:04:05+00:00"}'


@pytest.mark.parametrize(
    ("make", "logged"),
    [
        (
            lambda *args: lambda value, indent: iter(["[]"]),
            "json.encoder.c_make_encoder writes other JSON than json's own: not used",
        ),
        (
            lambda *args: 1 / 0,
            "json.encoder.c_make_encoder cannot be used (division by zero): JSON is written in Python",
        ),
    ],
)
def test_a_c_encoder_not_used_is_logged(
    make: Any, logged: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", make)
    assert payloads._c_encoder()([1]) == "[1]"
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("django_arq.records", "WARNING", logged)
    ]
