"""Data for the admin's workers page: each queue's live and recently lost workers, from their
heartbeats in Redis (``queues.heartbeats``), their running jobs linked to their records."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone

from ..conf import lost_after
from ..handler import get_queue, queues
from ..models import JobRecord
from ..queues.exceptions import ArqJobError
from ..queues.heartbeats import WorkerEntry
from .dashboard import QUEUE_DISCOVERY, configured_queues, discovered_queues

__all__ = ["QueueWorkers", "WorkerRow", "collect", "queue_workers"]


@dataclass
class WorkerRow:
    """One worker as the page shows it: its heartbeat, and its running jobs with their records' pages."""

    entry: WorkerEntry
    running: list[tuple[str, str | None]] = field(default_factory=list)  # (job id, record URL or None)


@dataclass
class QueueWorkers:
    """The workers of one queue of one alias, or why they cannot be read."""

    alias: str
    queue_name: str
    workers: list[WorkerRow] = field(default_factory=list)
    unavailable: str = ""

    @property
    def live(self) -> int:
        return sum(1 for w in self.workers if w.entry.state != "lost")

    @property
    def lost(self) -> int:
        return sum(1 for w in self.workers if w.entry.state == "lost")


def queue_workers(alias: str, queue_name: str) -> QueueWorkers:
    """The workers of ``queue_name``, read from Redis in one call."""
    found = QueueWorkers(alias, queue_name)
    try:
        queue = get_queue(alias)
        if queue.jobs_run_in_process:
            found.unavailable = "in-memory backend: jobs run in-process, no workers"
            return found
        entries = queue.list_workers_sync(queue_name, lost_after(alias))
    except NotImplementedError as exc:
        found.unavailable = str(exc)
    except ArqJobError as exc:  # Redis down: says where, with the password hidden
        found.unavailable = str(exc)
    except Exception as exc:  # a broken alias must not take the whole page down
        found.unavailable = f"queue {alias!r} cannot be built: {exc}"
    else:
        found.workers = [WorkerRow(entry) for entry in entries]
    return found


def _link_records(found: list[QueueWorkers], site: str) -> None:
    """Each running job with the URL of its record's page (one query for the whole page)."""
    wanted = {(q.alias, job) for q in found for w in q.workers for job in w.entry.running}
    pks: dict[tuple[str, str], int] = {}
    if wanted:
        rows = JobRecord.objects.filter(
            alias__in={a for a, _ in wanted}, job_id__in={j for _, j in wanted}
        ).values_list("alias", "job_id", "pk")
        pks = {(alias, job): pk for alias, job, pk in rows}
    for q in found:
        for w in q.workers:
            w.running = [
                (job, reverse(f"{site}:django_arq_jobrecord_change", args=[pks[q.alias, job]]))
                if (q.alias, job) in pks
                else (job, None)
                for job in w.entry.running
            ]


def collect(site: str = "admin") -> list[QueueWorkers]:
    """The workers of the queues the dashboard shows: each alias's configured queues (default queue
    and WORKER QUEUE_NAME) and the busiest others of the last day's records."""
    aliases = list(queues)
    configured = configured_queues(aliases)
    shown = [(alias, name) for alias, names in configured.items() for name in names if name != "-"]
    shown += discovered_queues(aliases, timezone.now() - QUEUE_DISCOVERY, configured)
    found = [queue_workers(alias, name) for alias, name in shown]
    _link_records(found, site)
    return found
