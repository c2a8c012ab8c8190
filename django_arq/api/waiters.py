"""The bound on concurrent long-polls (``?wait=``) per process: ``ARQ_API_MAX_WAITERS``.

A waiter holds no database connection, only a place in this count and a Redis poll every few
tenths of a second; past the bound, a request that would wait gets 429 with ``Retry-After``, and
an abort is requested without waiting for a worker's answer (202).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .errors import ApiError

__all__ = ["DEFAULT_MAX_WAITERS", "RETRY_AFTER", "active_waiters", "max_waiters", "place", "waiting"]

#: ``ARQ_API_MAX_WAITERS``: requests of one process that may long-poll at once.
DEFAULT_MAX_WAITERS = 100
#: Seconds a refused waiter is asked to wait before trying again.
RETRY_AFTER = 1

_lock = threading.Lock()  # WSGI servers run async views in several threads, each with its own loop
_active = 0


def max_waiters() -> int:
    """``ARQ_API_MAX_WAITERS``, an int >= 0 (0: no request may wait)."""
    value = getattr(settings, "ARQ_API_MAX_WAITERS", DEFAULT_MAX_WAITERS)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImproperlyConfigured(f"ARQ_API_MAX_WAITERS must be an int >= 0, not {value!r}")
    return value


def active_waiters() -> int:
    """How many requests of this process are waiting now."""
    return _active


@contextmanager
def place() -> Iterator[bool]:
    """Hold a waiter's place while the block runs, if one is free: the block gets whether it has one."""
    global _active
    limit = max_waiters()
    with _lock:
        held = _active < limit
        _active += held
    try:
        yield held
    finally:
        if held:
            with _lock:
                _active -= 1


@contextmanager
def waiting() -> Iterator[None]:
    """Hold a waiter's place while the block runs; ``ApiError`` 429 if every place is taken."""
    with place() as held:
        if not held:
            raise ApiError(
                429,
                "too_many_waiters",
                f"{max_waiters()} requests are already waiting for jobs here; retry, or ask without ?wait=",
                {"Retry-After": str(RETRY_AFTER)},
            )
        yield
