"""``manage.py arq_schedules``: the database schedules and the settings' CRON_JOBS, with next runs."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from django_arq.conf import queue_settings
from django_arq.models import Schedule
from django_arq.schedules import TimingError, configured_cron_jobs, timing_of
from django_arq.schedules.firing import first_run

from ..cli import EXIT_USAGE, ArqCommand, one_line


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def schedule_row(schedule: Schedule) -> dict[str, Any]:
    """One database schedule as JSON; a next run not computed yet is shown as it will be."""
    error = ""
    try:
        timing = timing_of(schedule)
        when = timing.describe()
    except TimingError as exc:
        when, error = "", str(exc)
    next_run = schedule.next_run
    if next_run is None and schedule.enabled and not error:
        next_run = first_run(schedule, timing)
    return {
        "source": "database",
        "id": schedule.pk,
        "name": schedule.name,
        "alias": schedule.alias,
        "function": schedule.function,
        "when": when,
        "time_zone": schedule.time_zone,
        "enabled": schedule.enabled,
        "catch_up": schedule.catch_up,
        "next_run": _iso(next_run) if schedule.enabled else None,
        "last_run": _iso(schedule.last_run),
        "last_job_id": schedule.last_job_id or None,
        "error": error,
    }


class Command(ArqCommand):
    help = (
        "List the schedules kept in the database (fired by arq_worker processes) and the CRON_JOBS of the "
        "settings, with their next runs in the current time zone (or as JSON with --json)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--alias", help="only this ARQ_QUEUES alias")
        parser.add_argument("--json", action="store_true", help="one JSON document on stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["alias"]
        if alias is not None and alias not in queue_settings():
            raise CommandError(
                f"ARQ_QUEUES has no alias {alias!r} (aliases: {', '.join(sorted(queue_settings()))})",
                returncode=EXIT_USAGE,
            )
        schedules = Schedule.objects.all()
        if alias is not None:
            schedules = schedules.filter(alias=alias)
        rows = [schedule_row(s) for s in schedules.order_by("alias", "name")]
        settings_rows = [{"source": "settings", **job.as_json()} for job in configured_cron_jobs(alias)]
        if options["json"]:
            self.stdout.write(json.dumps({"schedules": rows, "cron_jobs": settings_rows}, indent=2))
            return
        if not rows and not settings_rows:
            self.stdout.write("no schedules and no CRON_JOBS")
            return
        for row in rows:  # names, functions and errors on one line each, as they read
            state = "enabled" if row["enabled"] else "disabled"
            next_run = self._local(row["next_run"]) if row["next_run"] else "-"
            last_run = self._local(row["last_run"]) if row["last_run"] else "-"
            what = f"{row['name']} [{row['alias']}] {row['function']}: {row['when'] or row['error']}"
            self.stdout.write(one_line(f"{what}; {state}; next {next_run}; last {last_run}"))
        for job in settings_rows:
            next_run = self._local(job["next_run"]) if job["next_run"] else job["error"]
            what = f"{job['name']} [{job['alias']}] {job['function']}: CRON_JOBS {job['when']}"
            self.stdout.write(one_line(f"{what}; next {next_run}"))

    @staticmethod
    def _local(iso: str) -> str:
        return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M:%S %Z")
