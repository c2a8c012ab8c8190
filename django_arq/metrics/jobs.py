"""``JobMetrics``: a worker's counters and histograms of the jobs it runs.

The worker wraps each job function with ``JobMetrics.metered`` (started, time waited, run time,
how the call ended) and tells it how arq finished the job (``job_ended``: retried when the job
went back to the queue; ``job_failed_early``: failed or aborted before the function ran).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter

from ..queues.arq_internals import deserialize_result
from . import instruments
from .labels import label

__all__ = ["UNKNOWN_FUNCTION", "JobMetrics", "count_lost"]

logger = logging.getLogger("django_arq.metrics")

Coroutine = Callable[..., Awaitable[Any]]
#: The function label of a job that failed before its function was known to the worker.
UNKNOWN_FUNCTION = "<unknown>"


class _Series:
    """The labelled children of one function's metrics, looked up once."""

    def __init__(self, alias: str, queue: str, function: str) -> None:
        values = (label(alias), label(queue), label(function))
        self.started = instruments.STARTED.labels(*values)
        self.duration = instruments.JOB_DURATION.labels(*values)
        self.wait = instruments.QUEUE_WAIT.labels(*values)
        self.outcomes: dict[str, Counter] = {
            name: counter.labels(*values) for name, counter in instruments.OUTCOMES.items()
        }


class JobMetrics:
    """Metrics of the jobs of one worker (alias, queue), whose results ``deserializer`` reads."""

    def __init__(
        self, alias: str, queue_name: str, *, deserializer: Callable[[bytes], Any] | None = None
    ) -> None:
        self.alias, self.queue_name = alias, queue_name
        self._functions: set[str] = set()
        self._deserializer = deserializer
        self._series: dict[str, _Series] = {}
        self._ended: dict[str, tuple[_Series, str]] = {}  # job id -> how its function call ended

    def series(self, function: str) -> _Series:
        series = self._series.get(function)
        if series is None:
            series = self._series[function] = _Series(self.alias, self.queue_name, function)
        return series

    def metered(self, function: str, fn: Coroutine, aborting: Callable[[str], bool]) -> Coroutine:
        """``fn``, counted as a start of ``function``, its wait and run time observed;
        ``aborting(job_id)`` says whether a cancellation was an abort."""
        self._functions.add(function)
        series = self.series(function)

        async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            series.started.inc()
            started = time.time()
            score = ctx.get("score")
            if isinstance(score, int):
                series.wait.observe(max(0.0, started - score / 1000))
            outcome = "failed"
            try:
                result = await fn(ctx, *args, **kwargs)
                outcome = "succeeded"
                return result
            except asyncio.CancelledError:  # an abort, a timeout, or the worker stopping (then retried)
                if aborting(ctx["job_id"]):
                    outcome = "aborted"
                raise
            finally:
                series.duration.observe(time.time() - started)
                self._ended[ctx["job_id"]] = (series, outcome)

        return run

    def job_ended(self, job_id: str, finish: bool) -> None:
        """arq finished the job: its outcome counted, or ``retried`` if it went back to the queue."""
        ended = self._ended.pop(job_id, None)
        if ended is None:  # a job the worker did not run through ``metered`` (none today)
            return
        series, outcome = ended
        series.outcomes["retried" if not finish else outcome].inc()

    def jobs_lost(self, count: int) -> None:
        """Jobs of this queue whose worker was lost, put back in the queue by this one."""
        count_lost(self.alias, self.queue_name, count)

    def job_failed_early(self, job_id: str, result_data: bytes | None) -> None:
        """arq failed the job before its function ran (aborted first, expired, unknown, out of tries)."""
        self._ended.pop(job_id, None)
        function, outcome = UNKNOWN_FUNCTION, "failed"
        if result_data is not None:
            try:
                result = deserialize_result(result_data, deserializer=self._deserializer)
            except Exception:  # an unreadable result says nothing more
                logger.debug("job %s: its result cannot be read for metrics", job_id, exc_info=True)
            else:
                if result.function in self._functions:
                    function = result.function
                if isinstance(result.result, asyncio.CancelledError):
                    outcome = "aborted"
        self.series(function).outcomes[outcome].inc()


def count_lost(alias: str, queue_name: str, count: int = 1) -> None:
    """Count ``count`` jobs of (alias, queue) found lost."""
    instruments.LOST.labels(label(alias), label(queue_name)).inc(count)
