"""The pure rules of schedules: slots, DST days, catch-up, exactly-once under a fake clock."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_arq.schedules import (
    CronTiming,
    IntervalTiming,
    TimingError,
    make_timing,
    plan,
    schedule_pk_of,
    slot_id,
)
from django_arq.schedules.timing import Timing

GRACE = timedelta(seconds=10)


def simulate(
    timing: Timing, start: datetime, end: datetime, step: timedelta, *, catch_up: str = "last"
) -> list[datetime]:
    """Poll every ``step`` from ``start`` to ``end`` as a worker does; every slot fired, in order."""
    next_run, last_run = timing.after(start), None
    fired: list[datetime] = []
    now = start
    while now <= end:
        if next_run <= now:
            steps = plan(timing, next_run, now, catch_up=catch_up, grace=GRACE, last_run=last_run)
            fired += steps.fire
            next_run = steps.next_run
            last_run = steps.fire[-1] if steps.fire else last_run
        now += step
    return fired


@pytest.mark.parametrize(
    ("zone", "spring", "autumn", "expression"),
    [
        ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25), "30 2 * * *"),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1), "30 2 * * *"),
        ("America/New_York", date(2026, 3, 8), date(2026, 11, 1), "30 1 * * *"),  # 01:30 repeats there
    ],
)
@pytest.mark.parametrize("step", [timedelta(seconds=20), timedelta(minutes=7)])
def test_a_daily_job_fires_once_each_day_across_both_dst_changes(
    zone: str, spring: date, autumn: date, expression: str, step: timedelta
) -> None:
    tz = ZoneInfo(zone)
    timing = CronTiming(expression, zone)
    for day in (spring, autumn):
        start = datetime.combine(day - timedelta(days=2), datetime.min.time(), tz)
        fired = simulate(timing, start, start + timedelta(days=5), step)
        local_days = [slot.astimezone(tz).date() for slot in fired]
        assert local_days == [day - timedelta(days=2) + timedelta(days=i) for i in range(5)], fired
        assert len({slot_id(1, slot) for slot in fired}) == 5
    # The changes themselves: the skipped 02:30 fires at 03:00 summer time, the repeated one once.
    spring_slot = timing.after(datetime.combine(spring, datetime.min.time(), tz))
    autumn_slot = timing.after(datetime.combine(autumn, datetime.min.time(), tz))
    if expression == "30 2 * * *":
        assert spring_slot.astimezone(tz).strftime("%H:%M") == "03:00"
    assert autumn_slot.astimezone(tz).strftime("%H:%M") == expression.split()[1].zfill(2) + ":30"
    assert autumn_slot.astimezone(tz).fold == 0


def test_an_hourly_job_runs_every_real_hour_through_the_fall_back_day() -> None:
    tz = ZoneInfo("Europe/Berlin")
    timing = CronTiming("0 * * * *", "Europe/Berlin")
    start = datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    fired = simulate(timing, start, start + timedelta(hours=6), timedelta(minutes=1))
    gaps = {b - a for a, b in itertools.pairwise(fired)}
    assert gaps == {timedelta(hours=1)}
    assert [s.astimezone(tz).strftime("%H%z") for s in fired][1:4] == ["02+0200", "02+0100", "03+0100"]


def test_interval_slots_are_multiples_of_the_interval_since_the_epoch() -> None:
    timing = IntervalTiming(15)
    moment = datetime(2026, 1, 1, 0, 0, 7, 500, tzinfo=UTC)
    assert timing.after(moment) == datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)
    assert timing.after(datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)) == datetime(
        2026, 1, 1, 0, 0, 30, tzinfo=UTC
    )
    assert timing.last_at_or_before(moment) == datetime(2026, 1, 1, tzinfo=UTC)


def test_on_time_slots_all_fire_when_a_poll_comes_late() -> None:
    timing = IntervalTiming(1)
    next_run = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    steps = plan(timing, next_run, next_run + timedelta(seconds=3.5), catch_up="skip", grace=GRACE)
    assert [s.second for s in steps.fire] == [0, 1, 2, 3]
    assert steps.next_run == next_run + timedelta(seconds=4)


@pytest.mark.parametrize(("catch_up", "expected"), [("last", ["11:00"]), ("skip", [])])
def test_catch_up_after_downtime(catch_up: str, expected: list[str]) -> None:
    timing = CronTiming("0 * * * *", "UTC")
    next_run = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)  # workers were down from 07:59 to 11:20
    now = datetime(2026, 1, 1, 11, 20, tzinfo=UTC)
    steps = plan(timing, next_run, now, catch_up=catch_up, grace=GRACE)
    assert [s.strftime("%H:%M") for s in steps.fire] == expected
    assert steps.next_run == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_catch_up_fires_the_last_missed_slot_and_the_on_time_ones() -> None:
    timing = IntervalTiming(5)
    next_run = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    now = next_run + timedelta(seconds=62)
    steps = plan(timing, next_run, now, catch_up="last", grace=GRACE)
    assert [int((s - next_run).total_seconds()) for s in steps.fire] == [50, 55, 60]


def test_a_slot_at_or_before_last_run_never_fires_again() -> None:
    timing = IntervalTiming(1)
    slot = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    steps = plan(timing, slot, slot + timedelta(seconds=1), catch_up="last", grace=GRACE, last_run=slot)
    assert steps.fire == [slot + timedelta(seconds=1)]


@settings(max_examples=60, deadline=None)
@given(
    interval=st.integers(min_value=1, max_value=120),
    gaps=st.lists(st.floats(min_value=0.01, max_value=9.9), min_size=1, max_size=80),
    start=st.integers(min_value=0, max_value=10**9),
)
def test_polls_closer_than_the_grace_fire_every_interval_slot_exactly_once(
    interval: int, gaps: list[float], start: int
) -> None:
    timing = IntervalTiming(interval)
    now = datetime.fromtimestamp(start, UTC)
    first = timing.after(now)
    next_run, last_run, fired = first, None, []
    for gap in gaps:
        now += timedelta(seconds=gap)
        if next_run <= now:
            steps = plan(timing, next_run, now, catch_up="skip", grace=GRACE, last_run=last_run)
            fired += steps.fire
            next_run, last_run = steps.next_run, (steps.fire[-1] if steps.fire else last_run)
    expected = timing.between(first - timedelta(seconds=1), now)
    assert fired == expected


@settings(max_examples=40, deadline=None)
@given(
    minute=st.sampled_from(["*", "*/5", "0", "30", "15,45", "0-10"]),
    hour=st.sampled_from(["*", "1", "2", "*/3", "0-4"]),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    day=st.integers(min_value=0, max_value=364),
)
def test_cron_slots_strictly_increase_and_agree_with_last_at_or_before(
    minute: str, hour: str, zone: str, day: int
) -> None:
    timing = CronTiming(f"{minute} {hour} * * *", zone)
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
    slots = timing.between(moment, moment + timedelta(days=2))
    assert slots == sorted(set(slots))
    assert all(s > moment for s in slots)
    for slot in slots[:5]:
        assert timing.last_at_or_before(slot) == slot
        assert timing.last_at_or_before(slot + timedelta(seconds=59)) == slot


@pytest.mark.parametrize(
    ("cron", "interval", "zone", "message"),
    [
        ("61 * * * *", None, "UTC", "invalid cron expression '61 * * * *': Bad minute"),
        ("* * * *", None, "UTC", "a cron expression has 5 fields"),
        ("* * * * * *", None, "UTC", "a cron expression has 5 fields"),
        ("0 0 31 2 *", None, "UTC", "invalid cron expression"),
        ("0 0 * * *", None, "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("", 0, "UTC", "the interval must be a whole number of seconds >= 1"),
        ("0 0 * * *", 5, "UTC", "not both"),
        ("", None, "UTC", "give a cron expression or an interval"),
    ],
)
def test_unusable_timing_is_refused_with_a_clear_message(
    cron: str, interval: int | None, zone: str, message: str
) -> None:
    with pytest.raises(TimingError, match=message.replace("*", r"\*").replace("(", r"\(")):
        make_timing(cron, interval, zone)


@given(st.text(max_size=40))
def test_any_text_as_cron_is_a_timing_or_a_timing_error(text: str) -> None:
    try:
        timing = make_timing(text, None, "UTC")
    except TimingError as exc:
        assert str(exc)
    else:
        assert timing.after(datetime(2026, 1, 1, tzinfo=UTC)) > datetime(2026, 1, 1, tzinfo=UTC)


@given(pk=st.integers(min_value=1, max_value=10**12), seconds=st.integers(min_value=0, max_value=4 * 10**9))
def test_a_slot_id_names_its_schedule(pk: int, seconds: int) -> None:
    assert schedule_pk_of(slot_id(pk, datetime.fromtimestamp(seconds, UTC))) == pk
    assert schedule_pk_of(f"schedule:{pk}:now:{seconds}") == pk


@given(st.text(max_size=40))
def test_other_job_ids_name_no_schedule(job_id: str) -> None:
    pk = schedule_pk_of(job_id)
    assert pk is None or job_id.startswith(f"schedule:{job_id.split(':')[1]}:")


@settings(max_examples=80, deadline=None)
@given(
    interval=st.integers(min_value=1, max_value=30),
    gaps=st.lists(st.floats(min_value=0.01, max_value=90), min_size=1, max_size=60),
    catch_up=st.sampled_from(["last", "skip"]),
)
def test_with_downtime_no_slot_fires_twice_and_on_time_slots_all_fire(
    interval: int, gaps: list[float], catch_up: str
) -> None:
    timing = IntervalTiming(interval)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first = timing.after(now)
    next_run, last_run, fired, polls = first, None, [], []
    for gap in gaps:
        now += timedelta(seconds=gap)
        polls.append(now)
        if next_run <= now:
            steps = plan(timing, next_run, now, catch_up=catch_up, grace=GRACE, last_run=last_run)
            fired += steps.fire
            next_run, last_run = steps.next_run, (steps.fire[-1] if steps.fire else last_run)
    assert fired == sorted(set(fired))  # none twice, in order
    on_time = {s for poll in polls for s in timing.between(poll - GRACE, poll) if s >= first}
    assert on_time <= set(fired)  # a slot a poll saw within the grace always fired
    assert all(s <= polls[-1] for s in fired)
