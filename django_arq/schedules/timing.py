"""When a schedule fires: its slots (cron or interval) and which due slots a poll fires. Pure, no I/O.

Cron expressions are read by cronsim: a small, typed, dependency-free library that is kept
current, follows Debian cron's semantics (day-of-month OR day-of-week), and treats daylight
saving as cron does for jobs at a fixed hour: a time skipped by the spring-forward change fires
at the first minute after the gap, a time repeated by the fall-back change fires once, in its
first occurrence. croniter was the other candidate; its DST handling has been the subject of
long-standing bug reports and it was briefly abandoned in 2024.

Every slot is compared in UTC: Python compares two datetimes of the same ``tzinfo`` by their wall
time, ignoring ``fold``, which is wrong on the fall-back day.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

__all__ = [
    "CronTiming",
    "IntervalTiming",
    "Plan",
    "Timing",
    "TimingError",
    "make_timing",
    "plan",
    "schedule_pk_of",
    "slot_id",
]

#: How many slots one poll fires at most (a safety bound; a due window holds a few).
MAX_SLOTS_PER_POLL = 1000
#: The step back from a reverse-found slot before walking forward (cron's DST fix-ups differ by
#: direction, by at most the size of a clock change).
DST_MARGIN = timedelta(hours=2)


class TimingError(ValueError):
    """A cron expression, interval or time zone that cannot be used; the message says why."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"a naive datetime {value!r} where an aware one is needed")
    return value.astimezone(UTC)


class Timing:
    """The slots of a schedule: ``after(t)`` is the first slot strictly after ``t`` (UTC)."""

    def after(self, moment: datetime) -> datetime:
        raise NotImplementedError

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The newest slot not after ``moment`` (UTC), None if there is none."""
        raise NotImplementedError

    def describe(self) -> str:
        """The timing in a few words, for lists."""
        raise NotImplementedError

    def between(self, low: datetime, high: datetime, limit: int = MAX_SLOTS_PER_POLL) -> list[datetime]:
        """Slots ``s`` with ``low < s <= high``, oldest first, at most ``limit``."""
        slots: list[datetime] = []
        slot = self.after(low)
        while slot <= high and len(slots) < limit:
            slots.append(slot)
            slot = self.after(slot)
        return slots


#: The longest interval: what the ``interval`` column holds on every database (about 68 years).
MAX_INTERVAL = 2**31 - 1


@dataclass(frozen=True)
class IntervalTiming(Timing):
    """Every ``seconds`` seconds, at the multiples of ``seconds`` since the Unix epoch, so that every
    process computes the same slots without sharing a starting point."""

    seconds: int

    def __post_init__(self) -> None:
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int) or self.seconds < 1:
            raise TimingError(f"the interval must be a whole number of seconds >= 1, not {self.seconds!r}")
        if self.seconds > MAX_INTERVAL:  # its slots would fall past the dates Python can write
            raise TimingError(f"the interval must be at most {MAX_INTERVAL} seconds (about 68 years)")

    def after(self, moment: datetime) -> datetime:
        step = math.floor(_utc(moment).timestamp() / self.seconds) + 1
        return datetime.fromtimestamp(step * self.seconds, UTC)

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        step = math.floor(_utc(moment).timestamp() / self.seconds)
        return datetime.fromtimestamp(step * self.seconds, UTC)

    def describe(self) -> str:
        return f"every {self.seconds} s"


@dataclass(frozen=True)
class CronTiming(Timing):
    """A 5-field cron expression read in a time zone."""

    expression: str
    time_zone: str
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise TimingError(f"unknown time zone {self.time_zone!r}") from exc
        object.__setattr__(self, "zone", zone)
        if len(self.expression.split()) != 5:
            raise TimingError(
                f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                f"not {len(self.expression.split())}: {self.expression!r}"
            )
        try:
            next(CronSim(self.expression, datetime(2000, 1, 1, tzinfo=zone)))
        except CronSimError as exc:
            raise TimingError(f"invalid cron expression {self.expression!r}: {exc}") from exc
        except StopIteration as exc:
            raise TimingError(f"the cron expression {self.expression!r} never matches") from exc

    def _forward(self, start: datetime) -> Iterator[datetime]:
        return (s.astimezone(UTC) for s in CronSim(self.expression, _utc(start).astimezone(self.zone)))

    def after(self, moment: datetime) -> datetime:
        moment = _utc(moment)
        for slot in self._forward(moment):
            if slot > moment:  # cron's fix-ups work on wall time, which repeats on the fall-back day
                return slot
        raise TimingError(f"the cron expression {self.expression!r} has no slot after {moment}")

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        moment = _utc(moment)
        try:
            found = next(CronSim(self.expression, moment.astimezone(self.zone) + timedelta(seconds=1), True))
        except StopIteration:
            return None
        # Walk forward from just before it, so that the answer is one of the slots ``after`` gives.
        last, slot = None, self.after(found.astimezone(UTC) - DST_MARGIN)
        while slot <= moment:
            last, slot = slot, self.after(slot)
        return last

    def describe(self) -> str:
        return f"cron {self.expression} ({self.time_zone})"


def make_timing(cron: str, interval: int | None, time_zone: str) -> CronTiming | IntervalTiming:
    """The timing of a schedule's fields: a cron expression or an interval, exactly one of them."""
    cron = (cron or "").strip()
    if cron and interval is not None:
        raise TimingError("give a cron expression or an interval, not both")
    if cron:
        return CronTiming(cron, time_zone)
    if interval is None:
        raise TimingError("give a cron expression or an interval")
    return IntervalTiming(interval)


@dataclass(frozen=True)
class Plan:
    """What one poll does with a due schedule: the slots to fire (oldest first) and the next run."""

    fire: list[datetime]
    next_run: datetime


def plan(
    timing: Timing,
    next_run: datetime,
    now: datetime,
    *,
    catch_up: str,
    grace: timedelta,
    last_run: datetime | None = None,
) -> Plan:
    """The slots from ``next_run`` up to ``now`` that fire, and the next run after them.

    A slot at most ``grace`` old is on time, and fires however many there are: a worker that
    polls late loses none. Older slots were missed (no worker was running): ``catch_up="last"``
    fires the newest of them once, ``"skip"`` none. No slot at or before ``last_run`` fires again.
    """
    now, next_run = _utc(now), _utc(next_run)
    cutoff = now - grace
    fire: list[datetime] = []
    first = next_run - timedelta(microseconds=1)  # next_run itself counts
    if next_run <= cutoff and catch_up == "last":
        missed = timing.last_at_or_before(cutoff)
        if missed is not None and missed >= next_run:
            fire.append(missed)
    fire += timing.between(max(first, cutoff), now)
    if last_run is not None:
        fire = [slot for slot in fire if slot > _utc(last_run)]
    return Plan(fire, timing.after(now))


def schedule_pk_of(job_id: str) -> int | None:
    """The id of the schedule that fired a job (``schedule:<pk>:...``), None for other jobs."""
    kind, _, rest = job_id.partition(":")
    pk, _, slot = rest.partition(":")
    return int(pk) if kind == "schedule" and pk.isdigit() and slot else None


def slot_id(schedule_pk: object, slot: datetime) -> str:
    """The job id of a schedule's slot: the same in every process, so Redis takes it once."""
    return f"schedule:{schedule_pk}:{int(_utc(slot).timestamp())}"
