"""arq's worker health report (the ``<queue>:health-check`` key), read into an age and counts.

An arq worker writes ``"<Mon-DD HH:MM:SS> j_complete=.. j_failed=.. j_retried=.. j_ongoing=..
queued=.."`` every ``health_check_interval`` seconds, with a time to live of one interval plus
a second: a worker that dies stops writing, and the key is gone an interval later. The report's
age comes from its own time, written in the worker's local time: a Django worker shares this
process's (Django sets the process time zone from ``TIME_ZONE``). A time that cannot be read,
or lies ahead (another time zone), falls back on the key's time to live and the interval.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

__all__ = ["COUNTERS", "STALE_GRACE", "WorkerHealth", "read_health"]

#: arq's counters, in the order it writes them, with readable labels.
COUNTERS = {
    "j_complete": "complete",
    "j_failed": "failed",
    "j_retried": "retried",
    "j_ongoing": "running",
    "queued": "queued",
}
#: Seconds a report may be late (a busy event loop, a slow poll) before it counts as stale.
STALE_GRACE = 5.0
#: Seconds a report's time may lie ahead of this process's clock and still be read as "now".
CLOCK_SKEW = 2.0
_COUNTER = re.compile(r"\b(" + "|".join(COUNTERS) + r")=(\d+)\b")
_STAMP = re.compile(r"^\s*([A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2})\b")


@dataclass(frozen=True)
class WorkerHealth:
    """One worker report: its age in seconds, whether it is overdue, and arq's counters."""

    age: float | None
    stale: bool
    counts: dict[str, int] = field(default_factory=dict)
    raw: str = ""

    @property
    def summary(self) -> str:
        """The counters in words, e.g. "3 complete, 0 failed, 1 running"."""
        return ", ".join(
            f"{self.counts[key]} {label}" for key, label in COUNTERS.items() if key in self.counts
        )

    @property
    def report(self) -> str:
        """One line for people: "last report 4 s ago: 3 complete, ...", "(stale)" when overdue."""
        when = "last report" if self.age is None else f"last report {self.age:.0f} s ago"
        text = f"{when}{' (stale)' if self.stale else ''}"
        return f"{text}: {self.summary}" if self.counts else f"{text}: {self.raw}"


def _stamp_age(text: str, now: dt.datetime) -> float | None:
    """Seconds since the report's own time (arq writes no year: the most recent such date)."""
    found = _STAMP.match(text)
    if found is None:
        return None
    try:
        when = dt.datetime.strptime(f"{now.year} {found.group(1)}", "%Y %b-%d %H:%M:%S")
    except ValueError:  # Feb-29 of another year, a locale's month names
        return None
    if when > now + dt.timedelta(days=1):  # written in December, read in January
        when = when.replace(year=now.year - 1)
    return (now - when).total_seconds()


def read_health(
    text: str, ttl: float | None, interval: float, now: dt.datetime | None = None
) -> WorkerHealth:
    """What a health key says, given its time to live and the alias's health-check ``interval``.

    ``now`` is this process's local time, naive, as arq writes its reports (default: now).
    """
    counts = {key: int(value) for key, value in _COUNTER.findall(text)}
    age = _stamp_age(text, now or dt.datetime.now())  # arq writes local time
    if age is not None and age >= -CLOCK_SKEW:
        age = max(0.0, age)
    elif ttl is not None and 0 <= ttl <= interval + 1:  # written by a worker of this interval
        age = interval + 1 - ttl
    else:
        age = None
    stale = age is not None and age > interval + STALE_GRACE
    return WorkerHealth(age=age, stale=stale, counts=counts, raw=text.strip())
