"""Whether metrics are on: ``ARQ_METRICS`` (default: when ``prometheus-client`` is installed).

Nothing here imports ``prometheus_client``: a project without the extra pays for a setting read.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from django.conf import settings

from ..conf import tokens_problem
from .directory import directory_problem, recordable

__all__ = ["job_lost", "metrics_enabled", "metrics_problems", "metrics_tokens"]

PACKAGE = "prometheus_client"
INSTALL = 'pip install "django-arq[prometheus]"'


def installed() -> bool:
    """Whether ``prometheus_client`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(PACKAGE) is not None
    except ValueError:  # a module without a spec put in sys.modules
        return False


def metrics_enabled() -> bool:
    """True when ``ARQ_METRICS`` is not False and ``prometheus-client`` is installed."""
    return getattr(settings, "ARQ_METRICS", None) is not False and installed()


def metrics_tokens() -> list[str]:
    """``ARQ_METRICS_TOKENS``: bearer tokens accepted by the ``/metrics`` view (default none)."""
    tokens: Any = getattr(settings, "ARQ_METRICS_TOKENS", [])
    return [t for t in tokens if isinstance(t, str) and t] if isinstance(tokens, list | tuple) else []


def metrics_problems() -> list[str]:
    """What is wrong with ``ARQ_METRICS``, ``ARQ_METRICS_TOKENS`` and, while metrics are on,
    ``PROMETHEUS_MULTIPROC_DIR``, as sentences."""
    problems = []
    value = getattr(settings, "ARQ_METRICS", None)
    if value is not None and not isinstance(value, bool):
        problems.append(f"ARQ_METRICS must be True, False or None, not {value!r}")
    elif value is True and not installed():
        problems.append(f"ARQ_METRICS is True but prometheus-client is not installed: {INSTALL}")
    if problem := tokens_problem("ARQ_METRICS_TOKENS", getattr(settings, "ARQ_METRICS_TOKENS", [])):
        problems.append(problem)
    if metrics_enabled() and (problem := directory_problem()):
        problems.append(problem)
    return problems


def job_lost(alias: str, queue_name: str, count: int = 1) -> None:
    """Count jobs found lost (their worker gone while they ran); nothing when metrics are off."""
    if metrics_enabled() and count > 0 and recordable():
        from .jobs import count_lost

        count_lost(alias, queue_name, count)
