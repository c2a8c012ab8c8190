"""``MeteredQueue``: counts the jobs an alias's queue enqueues and times each enqueue call.

``metered(wrapper)`` is what ``QueueHandler.wrapper`` becomes: the given wrapper (the audit
layer), then, when metrics are on, this one around it, so the time measured is the caller's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from django.core.signals import setting_changed

from ..handler import queues
from ..queues.base import ArqQueue, QueueConfig
from ..queues.jobs import JobMetadata, JobSpec
from ..queues.wrapper import QueueWrapper
from .directory import recordable
from .labels import label
from .switch import metrics_enabled

__all__ = ["MeteredQueue", "metered"]

Wrapper = Callable[[ArqQueue, QueueConfig], ArqQueue]
#: Queue names of an alias counted under their own label; jobs of any further queue (names come
#: from callers, e.g. the HTTP API's "queue") are counted under ``OTHER_QUEUES``, so that neither
#: this process's memory nor Prometheus's series grow without bound.
MAX_QUEUES = 100
OTHER_QUEUES = "<other>"


class MeteredQueue(QueueWrapper):
    """An ``ArqQueue`` that feeds ``django_arq_jobs_enqueued`` and ``django_arq_enqueue_duration_seconds``."""

    def __init__(self, wrapped: ArqQueue, alias: str) -> None:
        from . import instruments

        super().__init__(wrapped)
        self.alias = alias
        self._duration = instruments.ENQUEUE_DURATION.labels(label(alias))
        self._enqueued = instruments.ENQUEUED
        self._counters: dict[str, Any] = {}  # queue name -> its counter, looked up once

    def __repr__(self) -> str:
        return f"<MeteredQueue {self._backend!r}>"

    def _observe(self, started: float, metadata: Sequence[JobMetadata]) -> None:
        self._duration.observe(time.perf_counter() - started)
        for m in metadata:
            counter = self._counters.get(m.queue_name)
            if counter is None:
                counter = self._counter(m.queue_name)
            counter.inc()

    def _counter(self, queue_name: str) -> Any:
        """The counter of a queue not seen yet: its own up to ``MAX_QUEUES``, then ``OTHER_QUEUES``'."""
        if len(self._counters) >= MAX_QUEUES:
            queue_name = OTHER_QUEUES
            if queue_name in self._counters:
                return self._counters[queue_name]
        counter = self._counters[queue_name] = self._enqueued.labels(label(self.alias), label(queue_name))
        return counter

    async def enqueue_many(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        started = time.perf_counter()
        metadata = await self._backend.enqueue_many(jobs)
        self._observe(started, metadata)
        return metadata

    def enqueue_many_sync(self, jobs: Sequence[JobSpec]) -> list[JobMetadata]:
        started = time.perf_counter()
        metadata = self._backend.enqueue_many_sync(jobs)
        self._observe(started, metadata)
        return metadata


def metered(wrapper: Wrapper) -> Wrapper:
    """``wrapper``, then a ``MeteredQueue`` around its queue while metrics are on and this process
    can record them."""

    def wrap(backend: ArqQueue, config: QueueConfig) -> ArqQueue:
        queue = wrapper(backend, config)
        return MeteredQueue(queue, config.alias) if metrics_enabled() and recordable() else queue

    return wrap


def _reset_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "ARQ_METRICS":
        queues.reset()


setting_changed.connect(_reset_on_change, dispatch_uid="django_arq.metrics.reset")
