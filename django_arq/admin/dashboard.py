"""Data for the admin's queue dashboard: live counts from Redis, throughput from JobRecords.

For each alias and queue: queued, deferred and in-progress jobs (read from arq's keys in two
round trips per alias, never with ``KEYS``), worker health (the workers' heartbeats, else arq's
``<queue>:health-check`` key and its time to live), and the last hour's finished jobs per minute
(one aggregate query over the indexed ``finish_time``), drawn as an inline SVG built here, on the
server; and the newest running jobs with their progress (one query over the indexed ``status``,
from records).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, Max
from django.db.models.functions import TruncMinute
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ..conf import HEALTH_CHECK_INTERVAL, get_config, health_check_interval, lost_after
from ..handler import get_queue, queues
from ..models import JobRecord
from ..queues.exceptions import ArqJobError
from ..queues.health import WorkerHealth, read_health
from ..queues.heartbeats import WorkerEntry
from ..queues.jobs import JobStatus
from .changelist import task_path
from .progress import running_progress

__all__ = [
    "MINUTES",
    "QUEUES_DISCOVERED",
    "RUNNING_SHOWN",
    "QueueStats",
    "RunningJob",
    "collect",
    "configured_queues",
    "discovered_queues",
    "throughput_svg",
]

#: Minutes shown by the throughput picture.
MINUTES = 60
#: Queues shown: each alias's default queue and WORKER QUEUE_NAME, and the busiest other queues
#: of the records enqueued within this time.
QUEUE_DISCOVERY = dt.timedelta(days=1)
#: At most this many queues found in records (besides the configured ones) are shown.
QUEUES_DISCOVERED = 20
#: Running jobs listed per queue, the most recently enqueued first.
RUNNING_SHOWN = 10


@dataclass(frozen=True)
class RunningJob:
    """A running job as the dashboard lists it: its record's key, task, start and progress bar."""

    pk: int
    job_id: str
    task: str
    start_time: dt.datetime | None
    progress: SafeString | str


@dataclass
class QueueStats:
    """What the dashboard shows for one queue of one alias."""

    alias: str
    queue_name: str
    queued: int | None = None
    deferred: int | None = None
    in_progress: int | None = None
    in_progress_capped: bool = False  # True: more due jobs than IN_PROGRESS_SCAN, count is a lower bound
    health: str | None = None  # the health-check key's value; None if no worker reports
    health_ttl: float | None = None  # seconds before the health-check key expires
    health_interval: float = HEALTH_CHECK_INTERVAL  # the alias's WORKER HEALTH_CHECK_INTERVAL
    workers: list[WorkerEntry] = field(default_factory=list)  # the heartbeats of its django-arq workers
    note: str = ""  # shown in place of worker health when the backend has no workers
    unavailable: str = ""  # why the live counts are missing (Redis down, backend without counts)
    succeeded: list[int] = field(default_factory=lambda: [0] * MINUTES)
    failed: list[int] = field(default_factory=lambda: [0] * MINUTES)
    start: dt.datetime | None = None  # the first minute of the picture
    running: list[RunningJob] = field(default_factory=list)  # newest first, at most RUNNING_SHOWN

    @property
    def failures_last_hour(self) -> int:
        return sum(self.failed)

    @property
    def finished_last_hour(self) -> int:
        return sum(self.succeeded) + sum(self.failed)

    @property
    def job_filters(self) -> str:
        """The job list's query string for this queue's records (the counts link to it)."""
        return urlencode({"alias": self.alias, "queue_name": self.queue_name})

    @property
    def last_hour_filters(self) -> str:
        """The same, narrowed to the jobs finished since the chart's first minute."""
        since = {"finish_time__gte": self.start.isoformat()} if self.start else {}
        return urlencode({"alias": self.alias, "queue_name": self.queue_name, **since})

    @property
    def worker_health(self) -> WorkerHealth | None:
        """The worker's last report read into an age and counts; None if no worker reports."""
        if self.health is None:
            return None
        return read_health(self.health, self.health_ttl, self.health_interval)

    @property
    def live_workers(self) -> int:
        """Workers beating (live or late) per their heartbeats."""
        return sum(1 for w in self.workers if w.state != "lost")

    @property
    def lost_workers(self) -> int:
        return sum(1 for w in self.workers if w.state == "lost")

    @property
    def chart(self) -> SafeString:
        return throughput_svg(self.succeeded, self.failed, self.start)


# -- live counts -------------------------------------------------------------------------------


def _live_counts(alias: str, stats: list[QueueStats]) -> None:
    """Fill counts and worker health of one alias's queues from its backend, in one call."""
    try:
        queue = get_queue(alias)
    except Exception as exc:  # a broken alias must not take the whole page down
        for s in stats:
            s.unavailable = f"queue {alias!r} cannot be built: {exc}"
        return
    try:
        counts = queue.count_jobs_sync([s.queue_name for s in stats])
        for s in stats if not queue.jobs_run_in_process else ():
            with contextlib.suppress(NotImplementedError):  # a backend without heartbeats
                s.workers = queue.list_workers_sync(s.queue_name, lost_after(alias))
    except NotImplementedError:
        for s in stats:
            s.unavailable = f"{type(queue.backend).__name__} does not expose queue counts"
        return
    except ArqJobError as exc:  # Redis down: says where, with the password hidden
        for s in stats:
            s.unavailable = str(exc)
        return
    interval = health_check_interval(alias)
    for s, c in zip(stats, counts, strict=True):
        s.queued, s.deferred, s.in_progress = c.queued, c.deferred, c.in_progress
        s.in_progress_capped, s.health, s.health_ttl = c.in_progress_capped, c.health, c.health_ttl
        s.health_interval = interval
        if queue.jobs_run_in_process:
            s.note = "in-memory backend: jobs run in-process, no worker reports"


# -- running jobs from records -----------------------------------------------------------------


def _running(stats: dict[tuple[str, str], QueueStats], aliases: list[str]) -> None:
    """Fill each shown queue's newest running jobs, with their progress, from one query."""
    records = (
        JobRecord.objects.filter(status=JobStatus.in_progress.value, alias__in=aliases)
        .only("pk", "job_id", "name", "args", "alias", "queue_name", "status", "start_time", "progress")
        .order_by("-enqueue_time", "-id")[: RUNNING_SHOWN * max(len(stats), 1)]
    )
    for record in records:
        s = stats.get((record.alias, record.queue_name))
        if s is not None and len(s.running) < RUNNING_SHOWN:
            job = RunningJob(
                record.pk, record.job_id, task_path(record), record.start_time, running_progress(record)
            )
            s.running.append(job)


# -- throughput from records -------------------------------------------------------------------


def _minute_start(now: dt.datetime) -> dt.datetime:
    return now.replace(second=0, microsecond=0) - dt.timedelta(minutes=MINUTES - 1)


def _throughput(start: dt.datetime) -> Iterable[tuple[str, str, dt.datetime, bool, int]]:
    rows = (
        JobRecord.objects.filter(finish_time__gte=start, success__isnull=False)
        .annotate(minute=TruncMinute("finish_time", tzinfo=dt.UTC))
        .values_list("alias", "queue_name", "minute", "success")
        .annotate(n=Count("id"))
        .order_by()
    )
    return rows


def configured_queues(aliases: list[str]) -> dict[str, list[str]]:
    """Each alias's default queue and WORKER QUEUE_NAME: always shown, whatever the records hold."""
    names: dict[str, list[str]] = {}
    for alias in aliases:
        try:
            config = get_config(alias)
        except Exception:  # shown as one row, whose counts say why (_live_counts)
            names[alias] = ["-"]
            continue
        names[alias] = [config.default_queue_name]
        worker_queue = config.worker.get("QUEUE_NAME")
        if worker_queue and worker_queue not in names[alias]:
            names[alias].append(worker_queue)
    return names


def discovered_queues(
    aliases: list[str], since: dt.datetime, configured: dict[str, list[str]]
) -> list[tuple[str, str]]:
    """Other queues of records enqueued since ``since``: the busiest first, at most ``QUEUES_DISCOVERED``.

    Ranked by jobs (then by the newest one), so a flood of odd names with a job each cannot push
    out a queue in real use; configured queues never count against the bound.
    """
    shown = sum(len(names) for names in configured.values())
    rows = (
        JobRecord.objects.filter(enqueue_time__gte=since, alias__in=aliases)
        .values_list("alias", "queue_name")
        .annotate(jobs=Count("id"), newest=Max("enqueue_time"))
        .order_by("-jobs", "-newest", "alias", "queue_name")[: QUEUES_DISCOVERED + shown]
    )
    found = [(alias, name) for alias, name, _, _ in rows if name not in configured.get(alias, ())]
    return found[:QUEUES_DISCOVERED]


def collect(now: dt.datetime | None = None) -> list[QueueStats]:
    """Stats for every configured alias and each of its queues."""
    now = now or dt.datetime.now(dt.UTC)
    start = _minute_start(now.astimezone(dt.UTC))
    aliases = list(queues)
    configured = configured_queues(aliases)
    shown = [(alias, name) for alias, names in configured.items() for name in names]
    shown += discovered_queues(aliases, now - QUEUE_DISCOVERY, configured)
    stats = {(alias, name): QueueStats(alias, name, start=start) for alias, name in shown}
    for alias, queue_name, minute, success, n in _throughput(start):
        s = stats.get((alias, queue_name))  # a queue not shown is not counted either
        if s is None:
            continue
        index = int((minute - start).total_seconds() // 60)
        if 0 <= index < MINUTES:
            (s.succeeded if success else s.failed)[index] += n
    _running(stats, aliases)
    for alias in aliases:
        _live_counts(alias, [s for s in stats.values() if s.alias == alias])
    return sorted(
        stats.values(), key=lambda s: (aliases.index(s.alias) if s.alias in aliases else 99, s.queue_name)
    )


# -- the picture -------------------------------------------------------------------------------

WIDTH, HEIGHT, BAR, TOP, BOTTOM, LEFT = 640, 140, 10, 12, 18, 30


def throughput_svg(succeeded: list[int], failed: list[int], start: dt.datetime | None) -> SafeString:
    """Stacked bars per minute (successes green, failures red above them) as escaped inline SVG."""
    peak = max([ok + ko for ok, ko in zip(succeeded, failed, strict=True)] + [1])
    plot = HEIGHT - TOP - BOTTOM
    bars = []
    for i, (ok, ko) in enumerate(zip(succeeded, failed, strict=True)):
        x = LEFT + i * BAR
        h_ok, h_ko = round(plot * ok / peak), round(plot * ko / peak)
        when = (start + dt.timedelta(minutes=i)).strftime("%H:%M UTC") if start else f"minute {i + 1}"
        label = f"{when}: {ok} succeeded, {ko} failed"
        y_ok = TOP + plot - h_ok
        bars.append((x, TOP, BAR - 1, plot, label, x, y_ok, BAR - 1, h_ok, x, y_ok - h_ko, BAR - 1, h_ko))
    body = format_html_join(
        "",
        '<g><title>{}</title><rect class="arq-slot" x="{}" y="{}" width="{}" height="{}"/>'
        '<rect class="arq-ok" x="{}" y="{}" width="{}" height="{}"/>'
        '<rect class="arq-ko" x="{}" y="{}" width="{}" height="{}"/></g>',
        ((b[4], b[0], b[1], b[2], b[3], *b[5:]) for b in bars),
    )
    total_ok, total_ko = sum(succeeded), sum(failed)
    return format_html(
        '<svg class="arq-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}"'
        ' width="{w}" height="{h}" role="img" aria-label="{aria}">'
        '<text x="2" y="{ty}" class="arq-axis">{peak}</text><text x="2" y="{by}" class="arq-axis">0</text>'
        '<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" class="arq-base"/>{body}'
        '<text x="{left}" y="{ly}" class="arq-axis">-{minutes} min</text>'
        '<text x="{right}" y="{ly}" text-anchor="end" class="arq-axis">now</text></svg>',
        w=WIDTH,
        h=HEIGHT,
        aria=f"Jobs finished per minute over the last hour: {total_ok} succeeded, {total_ko} failed",
        ty=TOP + 4,
        by=HEIGHT - BOTTOM,
        peak=peak,
        left=LEFT,
        right=LEFT + MINUTES * BAR,
        base=HEIGHT - BOTTOM,
        body=body,
        ly=HEIGHT - 4,
        minutes=MINUTES,
    )
