"""What is wrong with a schedule's fields, as one clear sentence per field (used by the admin's form)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured

from ..conf import allowed_tasks, queue_settings
from ..queues.jobs import ENQUEUE_OPTIONS
from .timing import CronTiming, IntervalTiming, TimingError

__all__ = ["schedule_problems"]


def schedule_problems(values: dict[str, Any]) -> dict[str, str]:
    """Field name -> why its value cannot be used, for a schedule's ``values``; empty if valid.

    The function must be one of the alias's ``WORKER["FUNCTIONS"]``, the timing a valid 5-field
    cron expression in a known time zone or an interval of whole seconds, never both.
    """
    problems: dict[str, str] = {}
    alias = values.get("alias") or ""
    aliases = sorted(queue_settings())
    if alias not in aliases:
        problems["alias"] = f"No ARQ_QUEUES alias {alias!r}; aliases are {', '.join(aliases)}."
    else:
        try:
            allowed = allowed_tasks(alias)
        except ImproperlyConfigured as exc:
            problems["alias"] = f"ARQ_QUEUES[{alias!r}] is misconfigured: {exc}"
        else:
            function = values.get("function") or ""
            if function not in allowed:
                listed = ", ".join(sorted(allowed)) or "none"
                problems["function"] = (
                    f"{function!r} is not in ARQ_QUEUES[{alias!r}]['WORKER']['FUNCTIONS'] "
                    f"(they are: {listed})."
                )
    zone = values.get("time_zone") or ""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        problems["time_zone"] = f"Unknown time zone {zone!r}; use an IANA name such as Europe/Berlin."
        zone = "UTC"
    cron, interval = (values.get("cron") or "").strip(), values.get("interval")
    if cron and interval is not None:
        problems["interval"] = "Give a cron expression or an interval, not both."
    elif not cron and interval is None:
        problems["cron"] = "Give a cron expression (e.g. 30 2 * * *) or an interval in seconds."
    else:
        try:
            if cron:
                CronTiming(cron, zone)
            elif interval is not None:
                IntervalTiming(interval)
        except TimingError as exc:
            problems["cron" if cron else "interval"] = str(exc)[:1].upper() + str(exc)[1:] + "."
    if "args" in values and not isinstance(values["args"], list):
        problems["args"] = "Positional arguments must be a JSON list, e.g. [1, 2]."
    kwargs = values.get("kwargs")
    if "kwargs" in values and not isinstance(kwargs, dict):
        problems["kwargs"] = 'Keyword arguments must be a JSON object, e.g. {"to": "ops"}.'
    elif isinstance(kwargs, dict) and (taken := ENQUEUE_OPTIONS.intersection(kwargs)):
        names = ", ".join(sorted(taken))
        problems["kwargs"] = f"{names}: names the enqueue keeps for itself, not arguments of the job."
    return problems
