"""The threads a django-arq worker runs its jobs' sync code in, handed to job functions through
``ctx``: a job function that runs sync code of its own (the Django tasks runner) uses the
worker's ``max_jobs`` threads, as a sync job function does, not the event loop's default pool."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["CTX_KEY", "job_threads"]

#: The key of a job's ``ctx`` holding the worker's pool of job threads.
CTX_KEY = "django_arq_job_threads"


def job_threads(ctx: Mapping[str, Any]) -> ThreadPoolExecutor | None:
    """The pool the job of ``ctx`` runs sync code in; None under a plain arq worker."""
    executor = ctx.get(CTX_KEY)
    return executor if isinstance(executor, ThreadPoolExecutor) else None
