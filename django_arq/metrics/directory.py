"""``PROMETHEUS_MULTIPROC_DIR``: the directory where prometheus-client's multiprocess mode keeps
each process's values, and whether this process can keep its own there.

prometheus-client opens a file in it for the first value of each kind a process records, and
raises if it cannot: a path that is not a writable directory must switch this process's metrics
off (an enqueue still succeeds) or stop a worker at start, never fail a caller's job. Nothing here
imports ``prometheus_client``.
"""

from __future__ import annotations

import functools
import logging
import os

__all__ = ["MULTIPROC_DIR", "directory_problem", "recordable"]

logger = logging.getLogger("django_arq.metrics")

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: The older spelling, which prometheus-client still reads when the upper-case one is unset.
LEGACY_MULTIPROC_DIR = MULTIPROC_DIR.lower()


def directory_problem() -> str | None:
    """Why this process cannot keep its metrics in ``PROMETHEUS_MULTIPROC_DIR`` (or its older
    lower-case spelling, as prometheus-client reads it), or None when neither is set or the
    directory named is writable."""
    name = MULTIPROC_DIR if MULTIPROC_DIR in os.environ else LEGACY_MULTIPROC_DIR
    path = os.environ.get(name)
    if path is None:
        return None
    if not os.path.exists(path):
        why = "does not exist"
    elif not os.path.isdir(path):
        why = "is not a directory"
    elif not os.access(path, os.W_OK | os.X_OK):
        why = "is not writable"
    else:
        return None
    return f"{name} must name an existing writable directory: {path!r} {why}"


def recordable() -> bool:
    """Whether this process can record metrics (``directory_problem`` is None); if not, the problem
    is logged as an error, once."""
    problem = directory_problem()
    if problem is not None:
        _log_once(problem)
    return problem is None


@functools.cache
def _log_once(problem: str) -> None:
    logger.error("metrics: %s; this process records none", problem)
