"""Progress values: what a report accepts, refuses and keeps, and its JSON form both ways."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_arq.queues.jobs import JobProgress
from django_arq.queues.progress import (
    MAX_MESSAGE_LENGTH,
    decode_progress,
    encode_progress,
    make_progress,
    progress_from_json,
    progress_of,
    progress_to_json,
)

T0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


def test_done_of_total_gives_the_fraction() -> None:
    p = make_progress(40, total=100, message="rows 400/1000", time=T0)
    assert p == JobProgress(done=40, total=100, fraction=0.4, message="rows 400/1000", time=T0)
    assert isinstance(p.done, int) and isinstance(p.total, int)


def test_without_a_total_there_is_no_fraction() -> None:
    assert make_progress(7.5).fraction is None
    assert make_progress(7.5).total is None


@pytest.mark.parametrize(
    ("done", "total", "fraction"),
    [(0, 10, 0.0), (10, 10, 1.0), (15, 10, 1.0), (0, 0, 1.0), (3, 0, 1.0), (Fraction(1, 2), 1, 0.5)],
)
def test_the_fraction_is_clamped_to_0_1(done: Any, total: Any, fraction: float) -> None:
    assert make_progress(done, total).fraction == fraction


def test_the_time_is_now_by_default() -> None:
    before = datetime.now(UTC)
    p = make_progress(1)
    assert before <= p.time <= datetime.now(UTC)
    assert p.time.tzinfo is not None


@pytest.mark.parametrize("bad", [True, False, "3", None, [1], Decimal("1"), 1j])
def test_a_non_number_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="progress done must be a number"):
        make_progress(bad)
    if bad is not None:  # a total of None means "no total"
        with pytest.raises(TypeError, match="progress total must be a number"):
            make_progress(1, total=bad)


@pytest.mark.parametrize("bad", [-1, -0.5, math.nan, math.inf, -math.inf, 10**400])
def test_a_negative_or_infinite_number_is_a_value_error(bad: Any) -> None:
    with pytest.raises(ValueError, match="progress done must be a finite number"):
        make_progress(bad)
    with pytest.raises(ValueError, match="progress total must be a finite number"):
        make_progress(1, total=bad)


@pytest.mark.parametrize("bad", [b"bytes", 3, ["x"]])
def test_a_message_that_is_not_text_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="progress message must be a string or None"):
        make_progress(1, message=bad)


def test_a_long_message_is_cut_with_an_ellipsis() -> None:
    p = make_progress(1, message="x" * 10_000)
    assert p.message == "x" * (MAX_MESSAGE_LENGTH - 1) + "\u2026"
    assert make_progress(1, message="y" * MAX_MESSAGE_LENGTH).message == "y" * MAX_MESSAGE_LENGTH


def test_nul_and_lone_surrogates_are_replaced() -> None:
    p = make_progress(1, message="a\x00b\udcffc\ud800")
    assert p.message == "a\ufffdb\ufffdc\ufffd"
    assert p.message is not None
    p.message.encode()  # storable as UTF-8


def test_to_json_and_back() -> None:
    p = make_progress(3, 4, "three", time=T0)
    data = progress_to_json(p)
    assert data == {"done": 3, "total": 4, "fraction": 0.75, "message": "three", "time": T0.isoformat()}
    assert progress_from_json(json.loads(json.dumps(data))) == p


def test_from_json_keeps_the_offset_of_the_time() -> None:
    t = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    p = progress_from_json({"done": 1, "time": t.isoformat()})
    assert p is not None and p.time == t and p.time.utcoffset() == timedelta(hours=2)
    assert p.total is None and p.fraction is None and p.message is None


def test_from_json_recomputes_the_fraction() -> None:
    p = progress_from_json({"done": 1, "total": 4, "fraction": 0.99, "time": T0.isoformat()})
    assert p is not None and p.fraction == 0.25


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "text",
        [],
        {},
        {"done": 1},
        {"time": T0.isoformat()},
        {"done": "1", "time": T0.isoformat()},
        {"done": -1, "time": T0.isoformat()},
        {"done": True, "time": T0.isoformat()},
        {"done": 1, "total": "x", "time": T0.isoformat()},
        {"done": 1, "message": 5, "time": T0.isoformat()},
        {"done": 1, "time": "yesterday"},
        {"done": 1, "time": 5},
        {"done": 1, "time": "2026-12-01T18:00:00"},  # no offset
        {"done": 10**400, "time": T0.isoformat()},
    ],
)
def test_from_json_of_anything_else_is_none(bad: Any) -> None:
    assert progress_from_json(bad) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=5,
)
PROPERTY = hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "done": json_values,
            "total": json_values,
            "fraction": json_values,
            "message": json_values,
            "time": json_values | st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
        },
    )
)
def test_from_json_never_raises(data: dict[str, Any]) -> None:
    p = progress_from_json(data)
    if p is not None:
        assert progress_from_json(progress_to_json(p)) == p


@PROPERTY
@given(
    st.integers(min_value=0, max_value=10**300) | st.floats(min_value=0, allow_infinity=False),
    st.none() | st.integers(min_value=0, max_value=10**300) | st.floats(min_value=0, allow_infinity=False),
    st.none() | st.text(),
)
def test_any_valid_report_round_trips_through_json_text(done: Any, total: Any, message: Any) -> None:
    p = make_progress(done, total, message)
    assert p.fraction is None or 0 <= p.fraction <= 1
    assert progress_from_json(json.loads(json.dumps(progress_to_json(p)))) == p


# -- what the mutation run found untested (bin/mutate django_arq/queues/progress.py) ---------------


class Count(int):
    """An int of another type: checked by the full path, not the short cut for plain numbers."""


def test_numbers_of_other_types_are_checked_in_full() -> None:
    assert make_progress(Fraction(0), Fraction(0)).done == 0  # zero is a valid amount
    p = make_progress(Count(3), Count(4))
    assert (type(p.done), type(p.total), p.done, p.fraction) == (int, int, 3, 0.75)
    with pytest.raises(ValueError, match="progress done must be a finite number >= 0"):
        make_progress(Fraction(-1, 2))


@pytest.mark.parametrize(("bad", "name"), [(True, "bool"), ("3", "str"), ([1], "list")])
def test_a_number_type_error_names_the_type(bad: Any, name: str) -> None:
    with pytest.raises(TypeError, match=rf"progress done must be a number, not {name}$"):
        make_progress(bad)


@pytest.mark.parametrize(("bad", "name"), [(b"x", "bytes"), (5, "int"), ([1], "list")])
def test_a_message_type_error_names_the_type(bad: Any, name: str) -> None:
    with pytest.raises(TypeError, match=rf"progress message must be a string or None, not {name}$"):
        make_progress(1, message=bad)


def test_a_message_of_the_longest_length_is_kept_whatever_its_characters() -> None:
    assert make_progress(1, message="\u00e9" * MAX_MESSAGE_LENGTH).message == "\u00e9" * MAX_MESSAGE_LENGTH
    assert make_progress(1, message="a\x00b").message == "a\ufffdb"  # ASCII, with a NUL


def test_the_redis_form_is_compact_json_that_reads_back() -> None:
    p = make_progress(3, 4, "three", time=T0)
    raw = encode_progress(p)
    assert raw.startswith(b'{"done":3,"total":4,"fraction":0.75,') and b" " not in raw.replace(b"three", b"")
    assert decode_progress(raw) == p


def test_a_report_becomes_a_timezone_aware_progress() -> None:
    p = progress_of((2, 8, "two", T0.timestamp()))
    assert p == JobProgress(done=2, total=8, fraction=0.25, message="two", time=T0)
    assert p.time.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,  # nested deeper than the JSON decoder's recursion limit: RecursionError
        b'{"done": 1, "time": "2026-12-01T18:00:00+00:00", "message": ' + b"[" * 100_000,
        b'{"done": 1, "time": "0001-01-01T00:00:00+14:00"}',  # before datetime.min in UTC
        b'{"done": 1, "time": "9999-12-31T23:59:59-14:00"}',  # after datetime.max in UTC
    ],
)
def test_decode_of_a_report_written_by_hand_is_none(raw: bytes) -> None:
    assert decode_progress(raw) is None


@PROPERTY
@given(st.binary(max_size=64) | st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_decode_never_raises(raw: bytes) -> None:
    p = decode_progress(raw)
    if p is not None:
        assert p.time.astimezone(UTC).tzinfo is UTC  # a time that every page can show
