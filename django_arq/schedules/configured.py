"""The ``CRON_JOBS`` of each alias's WORKER settings, described for operators (read-only).

They run as arq's own cron jobs inside the workers; they are listed beside the database schedules
(in the admin and by ``arq_schedules``) so that operators see everything that runs on a timer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from ..conf import get_config, queue_settings
from .cron_entries import cron_of_entry, cron_of_path

__all__ = ["ConfiguredCronJob", "configured_cron_jobs"]

#: CronJob fields that say when it runs, in the order a reader expects.
WHEN_FIELDS = ("month", "day", "weekday", "hour", "minute", "second")


@dataclass(frozen=True)
class ConfiguredCronJob:
    """One CRON_JOBS entry: where it is set, what it runs, when, and its next run (or why unknown)."""

    alias: str
    name: str
    function: str
    when: str
    next_run: datetime | None
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["next_run"] = self.next_run.isoformat() if self.next_run else None
        return data


def _describe(alias: str, entry: Any, now: datetime) -> ConfiguredCronJob:
    try:
        if isinstance(entry, Mapping) and "FUNCTION" in entry:
            function = str(entry["FUNCTION"])
            job = cron_of_entry(entry)  # describing an entry does not import its function
        elif isinstance(entry, str):
            job = cron_of_path(entry)
            function = getattr(job.coroutine, "__qualname__", job.name)
        else:
            raise ImproperlyConfigured(
                f"a CRON_JOBS entry must be a dotted path or a dict with FUNCTION: {entry!r}"
            )
    except (ImportError, ImproperlyConfigured, TypeError, ValueError) as exc:
        return ConfiguredCronJob(alias, str(entry), "", "", None, str(exc))
    when = " ".join(f"{f}={getattr(job, f)}" for f in WHEN_FIELDS if getattr(job, f) is not None)
    job.calculate_next(now)
    return ConfiguredCronJob(alias, job.name, function, when, job.next_run)


def configured_cron_jobs(alias: str | None = None, now: datetime | None = None) -> list[ConfiguredCronJob]:
    """The CRON_JOBS of one alias, or of every alias, with next runs in the project's time zone."""
    now = timezone.localtime(now or datetime.now(UTC))
    jobs = []
    for name in [alias] if alias else sorted(queue_settings()):
        try:
            entries = get_config(name).worker.get("CRON_JOBS", [])
        except ImproperlyConfigured:
            continue  # reported by the system checks
        jobs += [_describe(name, entry, now) for entry in entries]
    return jobs
