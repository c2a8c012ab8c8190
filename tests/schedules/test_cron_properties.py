"""``cron_problem`` against arq itself and a brute-force search of the calendar.

An entry ``cron_problem`` takes must be one arq can compute a next run for (arq's ``next_cron``
searches forever otherwise); an entry whose every value is a whole number in its range, and whose
date fields some day of the coming 28 years matches (a full cycle of weekdays and leap years),
must be taken.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from arq.cron import cron, next_cron
from arq.typing import WEEKDAYS
from hypothesis import example, given, settings
from hypothesis import strategies as st

from django_arq.schedules.cron_entries import cron_problem

RANGES = {
    "month": (1, 12),
    "day": (1, 31),
    "weekday": (0, 6),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
START = dt.datetime(2026, 12, 3, 12, 34, 56, 789, tzinfo=dt.UTC)
#: Weekday and leap-year patterns repeat within 28 years (no century year in between).
DAYS_SEARCHED = 28 * 366


async def _tick(ctx: dict[str, Any]) -> None:
    """The cron function of the drawn entries (never run)."""


def _field(low: int, high: int) -> st.SearchStrategy[Any]:
    """A field's value: often none or well formed, else near its range or of a type arq cannot match."""
    near = st.integers(low - 2, high + 2)
    return st.one_of(
        st.none(),
        st.integers(low, high),
        st.sets(st.integers(low, high), min_size=1, max_size=4),
        st.one_of(
            near,
            st.sets(near, max_size=4),
            st.lists(near, max_size=3),
            st.tuples(near, near),
            st.frozensets(near, min_size=1, max_size=2),  # arq matches set, list and tuple only
            st.sampled_from([True, 3.0, "3", b"3", {3: 3}]),
        ),
    )


FIELDS = st.fixed_dictionaries(
    {name: _field(low, high) for name, (low, high) in RANGES.items()}
    | {
        "weekday": st.one_of(
            _field(0, 6), st.sampled_from([*WEEKDAYS, "MON", "Sun", "tue", "thu", "someday"])
        )
    },
    optional={"microsecond": st.one_of(st.integers(-1, 1_000_000), st.just(1.5))},
)


def _numbers(field: str, value: Any) -> set[int] | None:
    """The numbers a well-formed value matches; None if the value is not one."""
    if field == "weekday" and isinstance(value, str):
        return {WEEKDAYS.index(value.lower())} if value.lower() in WEEKDAYS else None
    values = list(value) if type(value) in (set, list, tuple) else [value]
    low, high = RANGES[field]
    if not values or not all(type(v) is int and low <= v <= high for v in values):
        return None
    return set(values)


def _runs(fields: dict[str, Any]) -> bool:
    """Whether every value is well formed and some day of the coming years matches the date fields."""
    matched = {}
    for field in RANGES:
        value = fields.get(field)
        if value is not None and (numbers := _numbers(field, value)) is None:
            return False
        matched[field] = None if value is None else numbers
    microsecond = fields.get("microsecond", 0)
    if not (type(microsecond) is int and 0 <= microsecond <= 999_999):
        return False
    day = START.date()
    for _ in range(DAYS_SEARCHED):
        if all(
            wanted is None or part in wanted
            for wanted, part in (
                (matched["month"], day.month),
                (matched["day"], day.day),
                (matched["weekday"], day.weekday()),
            )
        ):
            return True
        day += dt.timedelta(days=1)
    return False


@settings(max_examples=300)
@given(FIELDS)
@example({"weekday": "tues", "hour": 3})  # arq's own names
@example({"weekday": "tue"})  # not arq's: next_cron would raise
@example({"month": 2, "day": 29, "weekday": 0})  # a Monday 29 February: 2044
@example({"month": 2, "day": 30})
@example({"month": {4, 6, 9, 11}, "day": 31, "hour": 1})
def test_an_entry_is_taken_if_and_only_if_arq_can_compute_its_runs(fields: dict[str, Any]) -> None:
    job = cron(_tick, **fields)
    problem = cron_problem(job)
    assert (problem is None) == _runs(fields), problem
    if problem is None:
        job.calculate_next(START)  # ends: the search has a day to find
        first = job.next_run
        assert first is not None and first > START
        assert first == next_cron(START, **{k: v for k, v in fields.items()})
        for field, value in fields.items():
            if field in RANGES and value is not None:
                part = first.weekday() if field == "weekday" else getattr(first, field)
                assert part in _numbers(field, value), (field, value, first)  # type: ignore[operator]
