"""Schedules kept in the database (``django_arq.models.Schedule``), fired by the workers themselves.

``timing`` holds the pure rules (the slots of a cron expression or an interval, across daylight
saving changes, and which due slots a poll fires), ``firing`` the database and enqueue side
(``fire_due``, ``run_now``), ``runner`` the task each ``arq_worker`` runs to poll, ``validation``
the checks of a schedule's fields, and ``configured`` the read-only view of ``CRON_JOBS``.

With the in-memory backend nothing polls: a test calls ``fire_due(alias, now=...)`` and then
``run_queued``, which fires and runs the jobs as the workers would.
"""

from .configured import ConfiguredCronJob, configured_cron_jobs
from .firing import GRACE, POLL_INTERVAL, BadArguments, Firing, fire_due, refresh_next_run, run_now, timing_of
from .runner import ScheduleFirer
from .timing import CronTiming, IntervalTiming, TimingError, make_timing, plan, schedule_pk_of, slot_id
from .validation import schedule_problems

__all__ = [
    "GRACE",
    "POLL_INTERVAL",
    "BadArguments",
    "ConfiguredCronJob",
    "CronTiming",
    "Firing",
    "IntervalTiming",
    "ScheduleFirer",
    "TimingError",
    "configured_cron_jobs",
    "fire_due",
    "make_timing",
    "plan",
    "refresh_next_run",
    "run_now",
    "schedule_pk_of",
    "schedule_problems",
    "slot_id",
    "timing_of",
]
