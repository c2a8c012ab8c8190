"""``QueueCollector``: jobs queued, deferred and running per alias and queue, read at scrape time.

Each alias costs one ``count_jobs`` call (two pipelined round trips on Redis, bounded however
long its queues are), plus the age of the last health report of the queue's worker. An alias
whose backend cannot count is left out; one whose Redis does not answer is reported by
``django_arq_queue_up`` 0, and the scrape goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence

from django.core.exceptions import ImproperlyConfigured
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..conf import get_config, health_check_interval, queue_settings
from ..handler import get_queue
from ..queues.health import read_health
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
)
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
        queued = GaugeMetricFamily(
            "django_arq_jobs_queued", "Jobs due and waiting for a worker.", labels=labels
        )
        deferred = GaugeMetricFamily("django_arq_jobs_deferred", "Jobs not due yet.", labels=labels)
        running = GaugeMetricFamily("django_arq_jobs_in_progress", "Jobs a worker is running.", labels=labels)
        age = GaugeMetricFamily(
            "django_arq_worker_health_age_seconds",
            "Seconds since a worker of the queue last wrote arq's health check (absent: none recent).",
            labels=labels,
        )
        up = GaugeMetricFamily(
            "django_arq_queue_up", "1 if the alias's queues could be counted, else 0.", labels=["alias"]
        )
        for alias, names in self.targets():
            try:
                counts = get_queue(alias).count_jobs_sync(names)
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
        yield from (queued, deferred, running, age, up)
