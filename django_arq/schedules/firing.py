"""Firing the due schedules of an alias: once per slot, however many processes do it at once.

``fire_due(alias)`` is what every ``arq_worker`` of the alias calls each poll, and what tests of
the in-memory backend call before ``run_queued``. One indexed query reads the schedules due by
now (or soon, so that the caller knows when to look again). Each slot is enqueued with the job id
``schedule:<pk>:<slot epoch>``: a second process enqueuing the same slot is refused by Redis
(``JobNotQueued``) as long as arq keeps the job or its result (``KEEP_RESULT``). The row is then
moved on with a conditional UPDATE (``WHERE next_run = <the value read>``), so a slot is fired
before it is marked, never marked unfired: a process dying in between leaves the slot due, and
the next one finds its id taken and only marks it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import DatabaseError
from django.db.models import Count, Min, Q, QuerySet

from ..conf import DEFAULT_ALIAS
from ..handler import UnknownFunction, get_queue
from ..models import Schedule
from ..queues.describe import safe_str
from ..queues.exceptions import ArqJobError, JobNotQueued, RedisUnavailable
from .timing import Timing, TimingError, make_timing, plan, slot_id

__all__ = [
    "GRACE",
    "POLL_INTERVAL",
    "BadArguments",
    "Firing",
    "fire_due",
    "refresh_next_run",
    "run_now",
    "timing_of",
    "until_next_run",
]

logger = logging.getLogger("django_arq.schedules")

#: Longest wait between two looks at the schedules: an edit made in the admin takes effect
#: within this time.
POLL_INTERVAL = timedelta(seconds=1)
#: A slot this old or less is on time and fires even if a poll came late; older ones were missed
#: and follow the schedule's catch-up policy.
GRACE = timedelta(seconds=10)


class BadArguments(ValueError):
    """A schedule's stored arguments are not a JSON list and object."""


@dataclass
class Firing:
    """What one ``fire_due`` call did: job ids it enqueued, ids another process had enqueued
    first, schedules it could not fire (name: reason), and when the next slot is due."""

    enqueued: list[str] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    next_due: datetime | None = None

    def wait(self, now: datetime, longest: timedelta = POLL_INTERVAL) -> float:
        """Seconds to sleep before the next poll."""
        if self.next_due is None:
            return longest.total_seconds()
        return max(0.0, min((self.next_due - now).total_seconds(), longest.total_seconds()))


def timing_of(schedule: Schedule) -> Timing:
    """The slots of a schedule, from its fields; ``TimingError`` if they are unusable."""
    return make_timing(schedule.cron, schedule.interval, schedule.time_zone)


def first_run(schedule: Schedule, timing: Timing, now: datetime | None = None) -> datetime:
    """The first slot after the schedule's last edit (or ``now``, if earlier: a clock behind the
    editor's) and after its last slot fired."""
    now = now or datetime.now(UTC)
    base = min(schedule.updated_at or now, now)
    if schedule.last_run is not None and schedule.last_run > base:
        base = schedule.last_run
    return timing.after(base)


def refresh_next_run(schedule: Schedule, now: datetime | None = None) -> datetime | None:
    """Compute a schedule's ``next_run`` if it is unset (a new or re-timed schedule); the value.

    The value depends only on the row, so racing processes write the same one.
    """
    if schedule.next_run is not None or not schedule.enabled:
        return schedule.next_run
    next_run = first_run(schedule, timing_of(schedule), now)
    Schedule.objects.filter(pk=schedule.pk, next_run__isnull=True, updated_at=schedule.updated_at).update(
        next_run=next_run
    )
    schedule.next_run = next_run
    return next_run


def check_arguments(schedule: Schedule) -> None:
    """``BadArguments`` unless the schedule's stored arguments are a JSON list and object."""
    if not isinstance(schedule.args, list) or not isinstance(schedule.kwargs, dict):
        raise BadArguments("args must be a JSON list and kwargs a JSON object")


def _enqueue(schedule: Schedule, job_id: str) -> bool:
    """Enqueue one job of ``schedule``; False if the id was taken (already fired)."""
    queue = get_queue(schedule.alias)
    try:
        queue.enqueue_sync(
            schedule.function,
            *schedule.args,
            _job_id=job_id,
            _queue_name=schedule.queue_name or None,
            **schedule.kwargs,
        )
    except JobNotQueued:
        return False
    return True


def _fire_one(schedule: Schedule, now: datetime, grace: timedelta, firing: Firing) -> None:
    timing = timing_of(schedule)
    check_arguments(schedule)
    if schedule.next_run is None:
        refresh_next_run(schedule, now)
    assert schedule.next_run is not None
    if schedule.next_run > now:
        return
    read = schedule.next_run
    steps = plan(timing, read, now, catch_up=schedule.catch_up, grace=grace, last_run=schedule.last_run)
    last_id = ""
    for slot in steps.fire:  # an error leaves the row as it is: the next poll tries the same slots
        job_id = slot_id(schedule.pk, slot)
        (firing.enqueued if _enqueue(schedule, job_id) else firing.taken).append(job_id)
        last_id = job_id
    changes: dict[str, object] = {"next_run": steps.next_run}
    if steps.fire:
        changes.update(last_run=steps.fire[-1], last_job_id=last_id)
    Schedule.objects.filter(pk=schedule.pk, next_run=read).update(**changes)
    schedule.next_run = steps.next_run


def due_schedules(alias: str, by: datetime) -> QuerySet[Schedule]:
    """The enabled schedules of ``alias`` due by ``by``, or whose next run is to be computed: one
    query on the partial index of enabled schedules."""
    due = Q(next_run__lte=by) | Q(next_run__isnull=True)
    return Schedule.objects.filter(due, enabled=True, alias=alias).order_by("next_run")


def until_next_run(alias: str, now: datetime, longest: timedelta) -> timedelta:
    """Time from ``now`` to the earliest next run of ``alias``'s enabled schedules, at most
    ``longest`` (one query; a schedule whose next run is unknown is due at once)."""
    enabled = Schedule.objects.filter(enabled=True, alias=alias)
    first = enabled.aggregate(first=Min("next_run"), unknown=Count("pk", filter=Q(next_run__isnull=True)))
    if first["unknown"]:
        return timedelta(0)
    if first["first"] is None:
        return longest
    return max(timedelta(0), min(longest, first["first"] - now))


def fire_due(
    alias: str = DEFAULT_ALIAS,
    *,
    now: datetime | None = None,
    grace: timedelta = GRACE,
    horizon: timedelta = POLL_INTERVAL,
) -> Firing:
    """Enqueue every slot of ``alias``'s enabled schedules due by ``now`` (default: the clock).

    Safe to call from any number of processes at once: each slot is enqueued once. One schedule
    that cannot be fired (bad timing, a function its alias refuses, Redis refusing its arguments) is
    reported in ``errors`` and does not stop the others; Redis being unreachable is raised.

    With ``MockArqQueue`` nothing polls; a test fires and runs the due jobs itself::

        fire_due("default", now=some_time)
        await get_queue("default").backend.run_queued()
    """
    now = now or datetime.now(UTC)
    firing = Firing()
    for schedule in due_schedules(alias, now + horizon):
        try:
            _fire_one(schedule, now, grace, firing)
        except RedisUnavailable:
            raise
        except (TimingError, BadArguments, ArqJobError, UnknownFunction) as exc:
            firing.errors[schedule.name] = str(exc)
            logger.error("schedule %r cannot be fired: %s", schedule.name, exc)
            continue
        except DatabaseError:  # the database, not the row: the poller reconnects
            raise
        except Exception as exc:  # any other fault of one schedule's row: the others still fire
            firing.errors[schedule.name] = f"{type(exc).__name__}: {safe_str(exc)}"
            logger.exception("schedule %r cannot be fired", schedule.name)
            continue
        if schedule.next_run is not None and (firing.next_due is None or schedule.next_run < firing.next_due):
            firing.next_due = schedule.next_run
    return firing


def run_now(schedule: Schedule) -> tuple[str, bool]:
    """Enqueue a schedule's job once now, outside its slots; (job id, whether it was enqueued).

    The id names the schedule and the second, so a double click enqueues one job. Raises
    ``BadArguments`` for stored arguments that are not a list and an object, ``ImproperlyConfigured``
    for an alias not in ``ARQ_QUEUES``, ``UnknownFunction`` for a function the alias's workers do
    not run (with ``UNKNOWN_FUNCTIONS: "error"``), ``ArqJobError`` if the job cannot be enqueued.
    """
    check_arguments(schedule)
    job_id = f"{schedule.job_id_prefix}now:{int(time.time())}"
    enqueued = _enqueue(schedule, job_id)
    if enqueued:
        Schedule.objects.filter(pk=schedule.pk).update(last_job_id=job_id)
        schedule.last_job_id = job_id
    return job_id, enqueued
