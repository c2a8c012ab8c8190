"""Retry policies: which exceptions a job is retried on, and the backoff before its next try.

Pure rules, no I/O: ``Backoff.delay(job_try)`` is ``BASE * 2 ** (job_try - 1)`` seconds, capped at
``MAX``, then jittered (``JITTER`` a fraction: that much above or below, still capped; or
``"full"``: anywhere between 0 and the capped delay). ``retried(coroutine, policy, max_tries)``
wraps a job function so that an exception the policy retries becomes arq's ``Retry(defer=...)``
while tries remain: arq keeps its own retry bookkeeping (``job_try``, ``max_tries``), and the last
try fails with the job's own exception.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from arq.worker import Retry

from .jobs import MAX_DELAY

__all__ = ["FULL_JITTER", "Backoff", "RetryPolicy", "checked_retry", "retried"]

#: ``JITTER`` value for full jitter: a delay drawn between 0 and the capped delay.
FULL_JITTER = "full"
#: Doublings past which every delay is ``MAX`` (keeps ``2 ** n`` a float).
MAX_DOUBLINGS = 512

Coroutine = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: ``base`` seconds after the first try, doubling, capped at ``max``."""

    base: float = 1.0
    max: float = 300.0
    jitter: float | Literal["full"] = 0.1

    def capped(self, job_try: int) -> float:
        """The delay after try ``job_try`` (1 for the first) before jitter."""
        doublings = min(max(job_try - 1, 0), MAX_DOUBLINGS)
        return min(self.max, self.base * 2.0**doublings)

    def delay(self, job_try: int, draw: Callable[[], float] = random.random) -> float:
        """Seconds to wait after try ``job_try`` failed; ``draw`` gives a number in [0, 1)."""
        delay = self.capped(job_try)
        if self.jitter == FULL_JITTER:
            return delay * draw()
        spread = delay * float(self.jitter) * (2 * draw() - 1)
        return min(self.max, max(0.0, delay + spread))


@dataclass(frozen=True)
class RetryPolicy:
    """Retry a job that raised one of ``retry_on`` (and no other), after ``backoff``."""

    retry_on: tuple[type[BaseException], ...] = ()
    backoff: Backoff = Backoff()

    def defer(self, exc: BaseException, job_try: int, max_tries: int) -> float | None:
        """Seconds before the next try if ``exc`` raised by try ``job_try`` is retried, else None."""
        if job_try >= max_tries or not isinstance(exc, self.retry_on):
            return None
        return self.backoff.delay(job_try)


def retried(coroutine: Coroutine, policy: RetryPolicy, max_tries: int) -> Coroutine:
    """``coroutine`` (a job function ``f(ctx, ...)``), raising ``Retry`` when ``policy`` retries
    what it raised; the job's exception is the ``Retry``'s ``__cause__``."""
    if not policy.retry_on:
        return coroutine

    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await coroutine(ctx, *args, **kwargs)
        except Exception as exc:
            defer = policy.defer(exc, ctx["job_try"], max_tries)
            if defer is None:
                raise
            raise Retry(defer=defer) from exc

    return run


def checked_retry(exc: Retry) -> BaseException:
    """``exc`` if arq can defer the job by its delay (none, or below 0: at once), else a ``ValueError``
    that says why: a delay past ``MAX_DELAY`` would park the job until its payload expired, and one
    too large for a float would stop arq's worker as it logs the retry."""
    delay_ms = exc.defer_score  # an int: arq's to_ms rounds the delay given
    limit = MAX_DELAY.total_seconds()
    if delay_ms is None or delay_ms <= limit * 1000:
        return exc
    try:
        shown = f"{delay_ms / 1000:.3g} s"
    except OverflowError:  # beyond any float
        shown = "more than 1e308 s"
    error = ValueError(f"Retry(defer=...) asks for {shown}; a job can be deferred by at most {limit:.0f} s")
    error.__cause__ = exc
    return error
