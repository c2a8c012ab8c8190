"""``QueueCollector``: jobs queued, deferred and running per alias and queue, read at scrape time.

Each alias costs one ``count_jobs`` call (two pipelined round trips on Redis, bounded however
long its queues are), and a ``list_workers`` call per queue (the workers' heartbeats: two round
trips, bounded by the number of workers). An alias whose backend cannot count is left out; one
whose Redis does not answer is reported by ``django_arq_queue_up`` 0, and the scrape goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from django.core.exceptions import ImproperlyConfigured
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..conf import get_config, health_check_interval, lost_after, queue_settings
from ..handler import get_queue
from ..queues.base import ArqQueue
from ..queues.health import read_health
from ..queues.heartbeats import WorkerEntry
from .labels import label

__all__ = ["GAUGES", "QueueCollector", "configured_queues"]

logger = logging.getLogger("django_arq.metrics")

#: The gauges of every scrape, by name.
GAUGES = (
    "django_arq_jobs_queued",
    "django_arq_jobs_deferred",
    "django_arq_jobs_in_progress",
    "django_arq_worker_health_age_seconds",
    "django_arq_queue_up",
    "django_arq_workers",
    "django_arq_worker_heartbeat_age_seconds",
)
#: The states of a worker's heartbeat, each counted by ``django_arq_workers``.
WORKER_STATES = ("live", "late", "lost")
#: (alias, queue names) pairs to count.
Targets = Sequence[tuple[str, Sequence[str]]]


def configured_queues() -> Targets:
    """Every alias of ``ARQ_QUEUES`` with its default queue and its workers' ``QUEUE_NAME``."""
    targets = []
    for alias in queue_settings():
        try:
            config = get_config(alias)
        except ImproperlyConfigured:  # a broken alias is the system checks' to report, not a scrape's
            continue
        names = [config.default_queue_name]
        worker_queue = config.worker.get("QUEUE_NAME")
        if isinstance(worker_queue, str) and worker_queue and worker_queue not in names:
            names.append(worker_queue)
        targets.append((alias, names))
    return targets


class QueueCollector(Collector):
    """Gauges of the queues ``targets()`` names, read from their backends on every collect."""

    def __init__(self, targets: Callable[[], Targets] = configured_queues) -> None:
        self.targets = targets

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # registering must not read Redis

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["alias", "queue"]
        queued, deferred, running, age, up, workers, beat = (
            GaugeMetricFamily(name, text, labels=names)
            for name, text, names in [
                (GAUGES[0], "Jobs due and waiting for a worker.", labels),
                (GAUGES[1], "Jobs not due yet.", labels),
                (GAUGES[2], "Jobs a worker is running.", labels),
                (GAUGES[3], "Seconds since a worker of the queue last wrote arq's health check.", labels),
                (GAUGES[4], "1 if the alias's queues could be counted, else 0.", ["alias"]),
                (
                    GAUGES[5],
                    "Workers of the queue by heartbeat: live, late or recently lost.",
                    [*labels, "state"],
                ),
                (GAUGES[6], "Seconds since the stalest heartbeat of the queue's workers not lost.", labels),
            ]
        )
        for alias, names in self.targets():
            try:
                queue = get_queue(alias)
                counts = queue.count_jobs_sync(names)
                entries = self._workers(queue, alias, names)
            except NotImplementedError:
                continue
            except Exception as exc:  # Redis down, or a broken alias: this one is left out
                logger.warning("metrics: cannot count the jobs of alias %r: %s", alias, exc)
                up.add_metric([label(alias)], 0)
                continue
            up.add_metric([label(alias)], 1)
            interval = health_check_interval(alias)
            for c in counts:
                values = [label(alias), label(c.queue_name)]
                queued.add_metric(values, c.queued)
                deferred.add_metric(values, c.deferred)
                running.add_metric(values, c.in_progress)
                if c.health is not None:
                    health = read_health(c.health, c.health_ttl, interval)
                    if health.age is not None:
                        age.add_metric(values, health.age)
            for name, found in entries.items():
                values = [label(alias), label(name)]
                for state in WORKER_STATES:
                    workers.add_metric([*values, state], sum(1 for w in found if w.state == state))
                ages = [w.age for w in found if w.state != "lost" and w.age is not None]
                if ages:
                    beat.add_metric(values, max(ages))
        yield from (queued, deferred, running, age, up, workers, beat)

    @staticmethod
    def _workers(queue: ArqQueue, alias: str, names: Sequence[str]) -> dict[str, list[WorkerEntry]]:
        """The heartbeats of each queue's workers; none where the backend keeps no heartbeats."""
        try:
            return {name: queue.list_workers_sync(name, lost_after(alias)) for name in names}
        except NotImplementedError:
            return {}
